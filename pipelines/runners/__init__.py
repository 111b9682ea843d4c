"""Orchestrator back-ends: local (Beam/Local DAG runners), Kubeflow and Vertex."""

"""Shared pytest set-up: quiet TensorFlow start-up and the repository root."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# google-auth probes the GCE metadata server (169.254.169.254) when it looks for default
# credentials; point it at a closed local port so no test ever sends traffic off the
# machine. Set before anything imports google.auth, which reads these at import time.
os.environ["GCE_METADATA_IP"] = os.environ["GCE_METADATA_HOST"] = "127.0.0.1:9"

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent

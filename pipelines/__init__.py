"""bertpipe pipelines: configuration, pipeline assembly, runners and the `bertpipe` CLI."""

__version__ = "0.1.0"

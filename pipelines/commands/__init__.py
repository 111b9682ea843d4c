"""`bertpipe` subcommands, one module each (see `pipelines/cli.py`)."""

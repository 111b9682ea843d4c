#!/usr/bin/env bash
# Install bertpipe into PYTHON's environment with the pinned, tested dependency set, then
# check the result. The one install command: `make` (scripts/setup_venv.sh) and the image
# build (Dockerfile) both run it, so the image gets exactly what the tests ran against.
#
# Usage: scripts/install_pinned.sh PYTHON PIP_INSTALL_ARGS...
#   e.g. scripts/install_pinned.sh .venv/bin/python -e '.[dev]'
#        scripts/install_pinned.sh /opt/venv/bin/python --no-cache-dir .
set -euo pipefail

cd "$(dirname "$0")/.."
if [ "$#" -lt 2 ]; then
  echo "usage: $0 PYTHON PIP_INSTALL_ARGS..." >&2
  exit 2
fi
python=$1
shift

"$python" -m pip install --quiet -c constraints.txt "$@"
"$python" -m pip check

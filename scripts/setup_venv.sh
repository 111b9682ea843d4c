#!/usr/bin/env bash
# Create .venv with Python 3.10 and install bertpipe with the pinned constraints.
#
# Idempotent and fast when nothing changed: the install is skipped while the stamp file
# records the same hash of setup.py + constraints.txt. Used by `make run` / `make test`.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
STAMP="$VENV/.bertpipe-installed"

inputs_hash() {
  cat setup.py constraints.txt | sha256sum | cut -d' ' -f1
}

python_is_310() {
  # A pyenv shim can exist yet fail ("python3.10: command not found"), so run it.
  "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' \
    >/dev/null 2>&1
}

find_python310() {
  local candidate
  for candidate in "${PYTHON310:-}" python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 \
      /usr/local/bin/python3.10 /usr/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if python_is_310 "$candidate"; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(inputs_hash)" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! py=$(find_python310); then
    cat >&2 <<'MSG'
bertpipe: error: no working Python 3.10 found.
  bertpipe needs Python 3.10: tfx 1.16.0 (the newest TFX that installs on Debian 12 and 13)
  requires Python >=3.9,<3.11, and TensorFlow 2.16 has no 3.9 wheels for all its deps.
  Looked for: $PYTHON310, python3.10 on PATH, ~/.pyenv/versions/3.10*/bin/python3.10,
  /usr/local/bin/python3.10, /usr/bin/python3.10.
  Fix: install it (e.g. `pyenv install 3.10` or `apt install python3.10 python3.10-venv`)
  or point to it with `make PYTHON310=/path/to/python3.10 test`.
MSG
    exit 2
  fi
  echo "bertpipe: creating $VENV with $py ($("$py" --version 2>&1))"
  "$py" -m venv "$VENV"
fi

echo "bertpipe: installing the pinned stack into $VENV (first time: ~3 GB, 2-3 minutes)"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
scripts/install_pinned.sh "$VENV/bin/python" -e '.[dev]'
inputs_hash >"$STAMP"
echo "bertpipe: environment ready ($VENV)"

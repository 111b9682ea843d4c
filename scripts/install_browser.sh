#!/usr/bin/env bash
# Headless Chromium (Debian's `chromium`, `chromium-driver`) for the evaluator report's
# screenshot test (tests/components/evaluator/test_report.py). `make test` runs this first.
# Installs only where it can (root + apt-get); elsewhere it says how, and the test skips
# with that reason.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bertpipe: installing chromium and chromium-driver (Debian) for the report test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
else
  echo "bertpipe: chromium is not installed and cannot be installed here (needs root and" \
    "apt-get); the report screenshot test will be skipped. Install it with:" \
    "sudo apt-get install chromium chromium-driver" >&2
fi

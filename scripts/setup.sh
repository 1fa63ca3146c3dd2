#!/usr/bin/env bash
# Install everything the project needs on a bare machine: a virtual environment with the
# Python packages, and (for the browser tests) Debian's chromium. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "setup: Python 3.11 or newer is needed (found $("$PYTHON" --version))" >&2; exit 2; }
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # The machine's pip config names local mirrors that may be absent; pip warns about each.
  .venv/bin/python -m pip install --quiet --upgrade pip 2> >(grep -v '^WARNING: Location' >&2)
  .venv/bin/python -m pip install --quiet -e '.[dev]' 2> >(grep -v '^WARNING: Location' >&2)
  touch "$stamp"
fi

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's chromium for the browser tests" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium is missing and cannot be installed without root; browser tests will be skipped" >&2
  fi
fi

#!/usr/bin/env bash
# Install everything the project needs on a bare machine: a virtual environment with exactly the
# versions in uv.lock (the project editable, its development tools), with --browser (for the
# browser tests) Debian's chromium, and with --bench (for `make bench`'s HTTP load) Debian's wrk. Safe to run again: it re-syncs only when pyproject.toml
# or uv.lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
export UV_PYTHON_DOWNLOADS=never  # use the machine's Python; never fetch one from elsewhere

python=()  # the interpreter of a new .venv; an existing one keeps its own
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "setup: Python 3.11 or newer is needed (found $("$PYTHON" --version 2>&1))" >&2; exit 2; }
  python=(--python "$PYTHON")
fi

stamp=.venv/.installed
wanted=$(cat pyproject.toml uv.lock | cksum)
if [ ! -x .venv/bin/uv ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  uv=.venv/bin/uv
  if [ ! -x "$uv" ]; then
    # uv comes from the package index, at the version uv.lock names (uv is one of the locked
    # development tools, so the sync below puts that same version into .venv for next time).
    version=$(sed -n '/^name = "uv"$/{n;s/^version = "\(.*\)"$/\1/p;q}' uv.lock)
    [ -n "$version" ] || { echo "setup: uv.lock names no version of uv" >&2; exit 2; }
    boot=$(mktemp -d)
    trap 'rm -rf "$boot"' EXIT
    # The machine's pip config names local mirrors that may be absent; pip warns about each.
    pip=(install --quiet --disable-pip-version-check "uv==$version")
    if "$PYTHON" -m pip --version >/dev/null 2>&1; then  # pip of the machine's Python: 2 s
      PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip "${pip[@]}" --target "$boot" \
        2> >(grep -v '^WARNING: Location' >&2)
    else  # a Python without pip of its own: a throw-away venv has one (5 s)
      "$PYTHON" -m venv "$boot"
      "$boot/bin/python" -m pip "${pip[@]}" 2> >(grep -v '^WARNING: Location' >&2)
    fi
    uv=$boot/bin/uv
  fi
  # --locked: install exactly uv.lock (the project editable, the dev group), and stop if it no
  # longer matches pyproject.toml (after changing dependencies, `.venv/bin/uv lock` updates it).
  "$uv" sync --locked --quiet ${python[@]+"${python[@]}"}
  echo "$wanted" >"$stamp"
fi

# Debian's package $2 for $3, unless its command $1 is there already.
apt_install() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's $2 for $3" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -o DPkg::Lock::Timeout=300 -y -qq "$2" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -o DPkg::Lock::Timeout=300 -y -qq "$2" >/dev/null
  else
    echo "setup: $2 is missing and cannot be installed without root; $4" >&2
  fi
}

case "${1:-}" in
  --browser) apt_install chromium chromium "the browser tests" "browser tests will be skipped" ;;
  --bench) apt_install wrk wrk "the benchmark's HTTP load" "the decisions benchmark will fail" ;;
esac

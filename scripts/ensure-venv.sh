#!/usr/bin/env bash
# Creates .venv (if missing) and installs the project into it, with the extras named
# in $1 (e.g. "test"). Safe to run again: pip only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "sitting-tracker needs Python 3.11 or newer (found: $("$python" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    # Debian splits venv out of python3; install it where we can.
    rm -rf .venv
    version=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq >/dev/null && apt-get install -y -qq "python$version-venv" >/dev/null
    else
      echo "cannot create a virtual environment: install python$version-venv" >&2
      exit 1
    fi
    "$python" -m venv .venv
  fi
fi
extras=${1:-}
target="."
[ -n "$extras" ] && target=".[$extras]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target"

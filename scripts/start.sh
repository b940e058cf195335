#!/usr/bin/env bash
# Installs the tracker into .venv (and dbus-daemon where missing), then runs the demo:
# an emulated band replays a real office day through bleak into the collector, and the
# dashboard serves it on http://localhost:8501. Ctrl-C stops everything.
# Extra arguments go to the demo (e.g. scripts/start.sh --speed 240).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-venv.sh
bash scripts/install-system-deps.sh
exec .venv/bin/sitting-tracker demo "$@"

#!/usr/bin/env bash
# Installs everything the tests need, then runs the linters and the whole test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k store).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-venv.sh test
bash scripts/install-system-deps.sh --tests
.venv/bin/ruff check tracker tests scripts dashboard notebooks
.venv/bin/mypy tracker dashboard scripts
.venv/bin/python -m pytest "$@"

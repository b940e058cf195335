#!/usr/bin/env bash
# Installs the Debian packages the demo and the tests use, only where they are missing:
#   dbus-daemon  - the private bus the emulated bands are reached through (demo, tests)
#   chromium     - the headless browser of the dashboard test (tests only: --tests)
#   postgresql   - initdb/pg_ctl for the PostgreSQL store tests, which start a private
#                  server in a temp dir (tests only: --tests; it also creates the
#                  unprivileged `postgres` user that runs that server when tests run as
#                  root, since initdb refuses root)
# Safe to run again; does nothing when everything is present. Without root or apt it
# says what is missing and exits 0, so the tests that need it can skip with a reason.
set -u
need=()
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus-daemon)
if [ "${1:-}" = "--tests" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 \
    || need+=(postgresql)
fi
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: no apt-get here; please install: ${need[*]}" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-system-deps: not root and no sudo; please install: ${need[*]}" >&2
    exit 0
  fi
fi
echo "install-system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null || true
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
  || echo "install-system-deps: could not install ${need[*]}; tests needing them will skip" >&2
exit 0

"""`sitting-tracker service install|uninstall`: run the collector in the background."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from tracker.cli_errors import UsageError
from tracker.config import default_config_path
from tracker.store import store_location
from tracker.store_backends import has_password
from tracker.store_choice import db_help, env_store

UNIT_NAME = "sitting-tracker.service"
CONFIG_ENV = "SITTING_TRACKER_CONFIG"  # the settings file, as tracker.config reads it


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "service", help="install or remove the collector as a background service",
        description="On Linux, install the collector as a systemd user service that starts at "
        "login and restarts after a failure (uninstall removes it). On macOS and Windows, "
        "print the launchd or Task Scheduler equivalent to set up by hand. A service does "
        "not see this shell's environment, so $SITTING_TRACKER_DB and "
        "$SITTING_TRACKER_CONFIG, if set, are written into it as --db and --config.")
    parser.add_argument("action", choices=("install", "uninstall"))
    parser.add_argument("--db", type=store_location, metavar="PATH|URL",
                        help=db_help("a URL without a password: libpq reads it from "
                                     "~/.pgpass"))
    parser.add_argument("--device", help="band name or address for the service")
    parser.add_argument("--no-start", action="store_true",
                        help="write the unit file but do not enable or start it")
    parser.set_defaults(run=run)


def collect_command(args: argparse.Namespace) -> list[str]:
    command = [sys.executable, "-m", "tracker.cli", "collect"]
    # The store and the settings file resolved as the collector would in this shell; the
    # settings themselves the service reads for itself when it starts.
    db = args.db if args.db is not None else env_store()
    if isinstance(db, str):
        if has_password(db):
            # The unit file and the process list are readable by others.
            raise UsageError("the store's URL holds a password; put it in ~/.pgpass "
                             "(or PGPASSFILE) instead, libpq reads it from there")
        command += ["--db", db]
    elif db:
        command += ["--db", str(db.expanduser().resolve())]
    if os.environ.get(CONFIG_ENV):  # empty counts as unset, as in tracker.config
        command += ["--config", str(default_config_path().resolve())]
    if args.device:
        command += ["--device", args.device]
    return command


def unit_path() -> Path:
    config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return config / "systemd" / "user" / UNIT_NAME


def unit_text(command: list[str]) -> str:
    return (
        "[Unit]\n"
        "Description=Sitting tracker collector (band -> posture -> nudges)\n"
        "After=bluetooth.target\n\n"
        "[Service]\n"
        f"ExecStart={' '.join(_exec_word(word) for word in command)}\n"
        "Restart=on-failure\n"
        "RestartSec=10\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def _exec_word(word: str) -> str:
    """`word` as one argument of ExecStart=: systemd reads C escapes even inside quotes
    and expands `%` specifiers and `$` variables, so a path holding `\\`, `%` or `$` (a
    folder "100% done") would reach the collector changed."""
    return shlex.quote(word.replace("\\", "\\\\").replace("%", "%%").replace("$", "$$"))


def _systemctl(*words: str) -> bool:
    if shutil.which("systemctl") is None:
        return False
    result = subprocess.run(["systemctl", "--user", *words], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"systemctl --user {' '.join(words)}: {result.stderr.strip()}", file=sys.stderr)
    return result.returncode == 0


def run(args: argparse.Namespace) -> int:
    command = collect_command(args)
    if sys.platform == "darwin":
        print(_launchd_hint(command))
        return 0
    if sys.platform.startswith("win"):
        # /TR takes the whole command line as one quoted argument: the quotes around a
        # path with spaces inside it are written \" (schtasks' own rule).
        task = subprocess.list2cmdline(command).replace('"', '\\"')
        print("Run this once in a terminal to start the collector at every log-on:\n"
              f'  schtasks /Create /SC ONLOGON /TN SittingTracker /TR "{task}"\n'
              "and to remove it:  schtasks /Delete /TN SittingTracker /F")
        return 0
    path = unit_path()
    if args.action == "install":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(unit_text(command))
        print(f"wrote {path}")
        if args.no_start:
            print(f"start it with: systemctl --user enable --now {UNIT_NAME}")
        elif _systemctl("daemon-reload") and _systemctl("enable", "--now", UNIT_NAME):
            print(f"enabled and started {UNIT_NAME}; logs: journalctl --user -u {UNIT_NAME}")
        else:
            print(f"could not reach systemd; start it with: systemctl --user enable --now "
                  f"{UNIT_NAME}")
        return 0
    if not args.no_start:
        _systemctl("disable", "--now", UNIT_NAME)
    if path.exists():
        path.unlink()
        print(f"removed {path}")
        _systemctl("daemon-reload")
    else:
        print(f"no service installed ({path} does not exist)")
    return 0


def _launchd_hint(command: list[str]) -> str:
    # XML: a path holding `&` or `<` would make the whole file unreadable to launchd.
    arguments = "\n".join(f"    <string>{xml_escape(word)}</string>" for word in command)
    return (
        "Save this as ~/Library/LaunchAgents/org.sitting-tracker.collector.plist, then run\n"
        "  launchctl load ~/Library/LaunchAgents/org.sitting-tracker.collector.plist\n\n"
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
        '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        '<plist version="1.0"><dict>\n'
        "  <key>Label</key><string>org.sitting-tracker.collector</string>\n"
        f"  <key>ProgramArguments</key><array>\n{arguments}\n  </array>\n"
        "  <key>RunAtLoad</key><true/>\n  <key>KeepAlive</key><true/>\n"
        "</dict></plist>"
    )

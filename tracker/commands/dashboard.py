"""`sitting-tracker dashboard`: serve the Streamlit dashboard on this machine."""

from __future__ import annotations

import argparse
import ipaddress
import subprocess
import sys
from pathlib import Path
from typing import Any

from tracker.cli_errors import HelpFormatter, UsageError
from tracker.processes import die_with_parent, sigterm_interrupts, stop_child
from tracker.store import StoreLocation, store_location
from tracker.store_backends import is_database_url
from tracker.store_choice import db_help, env_store

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
DEFAULT_PORT = 8501
LOOPBACK = "127.0.0.1"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard", help="show today's sitting, history, suggestions and settings in a "
        "browser",
        description="Serve the dashboard (Streamlit) on http://127.0.0.1:PORT. It reads the "
        "store the collector writes; it never connects to a band.",
        formatter_class=HelpFormatter)
    parser.add_argument("--db", type=store_location, metavar="PATH|URL", help=db_help())
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to serve on")
    parser.add_argument("--address", default=LOOPBACK,
                        help="address to bind; anything but loopback serves your health "
                        "data to the network")
    parser.set_defaults(run=run)


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def dashboard_command(db: StoreLocation | None, port: int, address: str,
                      demo: bool = False) -> list[str]:
    """The streamlit command line: headless (no browser opened, no e-mail prompt) and
    without usage statistics, which would leave the machine. `demo`: served by the demo,
    whose collector stops when its replay ends (the page says so, not "start it")."""
    command = [sys.executable, "-m", "streamlit", "run", str(APP),
               "--server.address", address, "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "minimal"]
    if isinstance(db, str) and is_database_url(db):
        command += ["--", "--db", db]
    elif db is not None:
        command += ["--", "--db", str(Path(db).expanduser().resolve())]
    if demo:
        command += ["--demo"] if "--" in command else ["--", "--demo"]
    return command


def launch_dashboard(db: StoreLocation, port: int, address: str = LOOPBACK,
                     demo: bool = False) -> subprocess.Popen[bytes]:
    """Start the dashboard on `db` in the background; the caller stops it, and if the
    caller is killed outright, the dashboard stops with it."""
    return subprocess.Popen(dashboard_command(db, port, address, demo),
                            preexec_fn=die_with_parent)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port number")
    if args.db is None:
        env_store()  # a bad $SITTING_TRACKER_DB is said here, in one line, not in a page
    if not is_loopback(args.address):
        print(f"sitting-tracker dashboard: warning: binding to {args.address} serves your "
              "health data to the network, without a password", file=sys.stderr)
    print(f"dashboard: http://{args.address}:{args.port} (Ctrl-C stops it)", file=sys.stderr)
    # Streamlit runs as a child: stopped with us whether by Ctrl-C (which reaches both),
    # SIGTERM (which reaches only us: a service manager, a plain `kill`) or SIGKILL.
    process = subprocess.Popen(dashboard_command(args.db, args.port, args.address),
                               preexec_fn=die_with_parent)
    try:
        with sigterm_interrupts():
            return process.wait()
    except KeyboardInterrupt:
        stop_child(process)
        return 0

"""``sitting-tracker emulate``: run one emulated band on a private bus until stopped.

Contract: the first stdout line is ``DBUS_SYSTEM_BUS_ADDRESS=<address>`` (flushed once the
band can be found); export it in another process and bleak there sees the band. Further
lines are informational (``key=value`` words), including one ``buzz ...`` line per
vibration and ``motion ended ...`` once a stream has sent the scenario's last sample.
SIGINT/SIGTERM stop the band, kill the bus daemon, delete its directory and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Callable

from tracker.emulator.bands import PROFILE_ALIASES, Band, profiles
from tracker.emulator.bus import DBusDaemonNotFoundError
from tracker.emulator.faults import parse_fault_spec, run_fault_schedule
from tracker.emulator.infinitime_band import InfiniTimeBand
from tracker.emulator.motion import MotionSource, SyntheticMotionSource
from tracker.emulator.session import Emulator

SYNTHETIC_SCENARIOS = {
    "still-sitting": "SYNTHETIC, for tests only: seated, gravity on a tilted axis, sensor noise",
    "walking-synthetic": "SYNTHETIC, for tests only: 1.8 Hz step bounce, upright",
}


def _scenarios_module() -> object | None:
    try:
        return importlib.import_module("tracker.scenarios")
    except ModuleNotFoundError as e:
        if e.name != "tracker.scenarios":
            raise
        return None


def resolve_scenario(name: str, rate_hz: float) -> MotionSource:
    """A recorded scenario from ``tracker.scenarios`` if it knows the name, else a built-in
    synthetic one."""
    module = _scenarios_module()
    resolver: Callable[[str, float], MotionSource] | None = getattr(
        module, "resolve_scenario", None
    )
    if resolver is not None:
        try:
            return resolver(name, rate_hz)
        except (KeyError, LookupError, ValueError):
            if name not in SYNTHETIC_SCENARIOS:
                raise
    if name in SYNTHETIC_SCENARIOS:
        return SyntheticMotionSource(name, rate_hz)
    raise KeyError(f"unknown scenario {name!r} (see --list)")


def list_scenarios() -> dict[str, str]:
    found: dict[str, str] = {}
    module = _scenarios_module()
    lister = getattr(module, "list_scenarios", None)
    if callable(lister):
        listed = lister()
        items = listed.items() if isinstance(listed, dict) else ((n, "") for n in listed)
        found.update({str(k): str(v) for k, v in items})
    found.update(SYNTHETIC_SCENARIOS)
    return found


DESCRIPTION = (
    "Run an emulated BLE band that bleak finds through a private D-Bus bus. The first line "
    "printed is DBUS_SYSTEM_BUS_ADDRESS=<address>: export it, and scan, stream and collect "
    "in another shell use the band. The scenario starts when a host first starts the band's "
    "stream. Runs until Ctrl-C or SIGTERM, then removes its bus."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sitting-tracker emulate", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", help="band model (see --list)")
    parser.add_argument("--scenario", help="motion scenario (see --list)")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="playback speed; the band's clock runs this many times faster",
    )
    parser.add_argument(
        "--faults",
        default="",
        help="fault script, e.g. 'link-loss@30:refuse=5;stall@1m:for=10' (times in band "
        "seconds from the first stream a host starts)",
    )
    parser.add_argument("--device-id", default=None, help="Polar device id (8 hex digits)")
    parser.add_argument("--list", action="store_true", help="list profiles and scenarios")


def make_band(profile: str, scenario: str, speed: float, device_id: str | None = None) -> Band:
    table = profiles()
    key = PROFILE_ALIASES.get(profile, profile)
    if key not in table:
        raise KeyError(f"unknown profile {profile!r} (see --list)")
    factory, rate_hz, _summary = table[key]
    source = resolve_scenario(scenario, rate_hz)
    kwargs: dict[str, object] = {"speed": speed}
    if device_id and key.startswith("polar"):
        kwargs["device_id"] = device_id
    return factory(source, **kwargs)


MOTION_ENDED = "motion ended"


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _serve(band: Band, fault_spec: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    schedule = parse_fault_spec(fault_spec) if fault_spec else []
    async with Emulator(band, apply_env=False) as emu:
        _print(f"DBUS_SYSTEM_BUS_ADDRESS={emu.address}")
        _print(f"BLUETOOTHCTL_DIR={emu.bus.bin_dir}")
        _print(
            f"band name={band.name!r} address={band.address} model={band.model!r} "
            f"speed={band.speed:g}"
        )
        tasks = []
        if schedule:
            tasks.append(asyncio.create_task(run_fault_schedule(band, schedule)))
        if isinstance(band, InfiniTimeBand):
            tasks.append(asyncio.create_task(_report_buzzes(band)))
        tasks.append(asyncio.create_task(_report_motion_end(band)))
        await stop.wait()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    _print("stopped")


async def _report_motion_end(band: Band) -> None:
    # Whoever replays a day through the band (the demo) learns here that it is over: the
    # band itself only goes quiet, as a real one never would.
    await band.motion_ended.wait()
    _print(f"{MOTION_ENDED} band_time_s={band.band_elapsed_s():.3f}")


async def _report_buzzes(band: InfiniTimeBand) -> None:
    reported = 0
    while True:
        await band.wait_for_buzz(reported + 1, timeout=None)
        for buzz in band.buzzes[reported:]:
            _print(
                f"buzz band_time_s={buzz.band_time_s:.3f} category={buzz.category} "
                f"title={buzz.title!r} body={buzz.body!r}"
            )
        reported = len(band.buzzes)


def emulate_main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    return run_parsed(parser.parse_args(argv), parser)


def run_parsed(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Carry out `emulate` with arguments parsed by a parser set up by `add_arguments`."""
    if args.list:
        print("profiles:")
        for name, (_f, rate, summary) in profiles().items():
            aliases = [a for a, p in PROFILE_ALIASES.items() if p == name]
            extra = f" (alias {', '.join(aliases)})" if aliases else ""
            print(f"  {name}{extra}: {summary}; motion asked at {rate:g} Hz")
        print("scenarios:")
        for name, summary in list_scenarios().items():
            print(f"  {name}: {summary}" if summary else f"  {name}")
        return 0
    if not args.profile or not args.scenario:
        parser.error("--profile and --scenario are required (or --list)")
    if args.speed <= 0:
        parser.error("--speed must be positive")
    try:
        if args.faults:
            parse_fault_spec(args.faults)
        band = make_band(args.profile, args.scenario, args.speed, args.device_id)
    except (KeyError, ValueError) as e:
        print(f"emulate: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(band, args.faults))
    except DBusDaemonNotFoundError as e:
        print(f"emulate: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(emulate_main())

"""Fault injection for emulated bands.

In-process, every band has ``band.faults`` (a :class:`FaultInjector`). For the CLI, a
``--faults`` spec string is parsed by :func:`parse_fault_spec` and played by
:func:`run_fault_schedule`.

All times and durations are **band seconds**: at ``speed`` N they pass N times faster on
the wall clock, so a scripted day keeps its shape at any playback speed.

Spec grammar: items separated by ``;``, each ``KIND@TIME[+EVERY][:key=value,...]``; TIME
and EVERY are seconds, optionally suffixed ``s``, ``m`` or ``h``. Example::

    link-loss@30:refuse=5; stall@1m:for=10; corrupt@90:count=3,bits=2;
    clock-jump@2m:by=-3600; restart@3m:boot=2; link-loss@5m+10m

Kinds and keys: ``link-loss`` (refuse), ``stall`` (for; omitted = until resumed),
``corrupt`` (count, bits), ``truncate`` (count, keep: fraction kept), ``reorder`` (count:
frame pairs swapped), ``clock-jump`` (by: seconds, may be negative), ``restart`` (boot:
seconds invisible while rebooting), ``stream-stop`` (Polar: device ends the stream itself),
``unanswered`` (count: GATT requests that never get an answer, as when a band or the
host's Bluetooth stack hangs in the middle of one).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.emulator.bands import Band

FAULT_KINDS = (
    "link-loss",
    "stall",
    "corrupt",
    "truncate",
    "reorder",
    "clock-jump",
    "restart",
    "stream-stop",
    "unanswered",
)


@dataclass
class FaultRecord:
    wall_time: float
    kind: str
    params: dict[str, float]


class FaultInjector:
    """Faults one band can suffer; data-path faults apply to its data notifications."""

    def __init__(self, band: Band, seed: int = 0) -> None:
        self._band = band
        self._rng = random.Random(seed)
        self.history: list[FaultRecord] = []
        self.stalled = False
        self._stall_handle: asyncio.TimerHandle | None = None
        self._corrupt: list[int] = []  # bit flips for each of the next frames
        self._truncate: list[float] = []  # fraction kept for each of the next frames
        self._reorder_pairs = 0
        self._held: bytes | None = None
        self._unanswered = 0  # GATT requests still to leave without an answer

    def _record(self, kind: str, **params: float) -> None:
        self.history.append(FaultRecord(time.time(), kind, params))

    # ---- link and device faults ----------------------------------------------------------

    def link_loss(self, refuse_reconnect_s: float = 0.0) -> None:
        """Drop the link from the band's side; stay invisible for ``refuse_reconnect_s``."""
        self._record("link-loss", refuse=refuse_reconnect_s)
        self._band.go_silent(refuse_reconnect_s)
        self._band.drop_link()

    def stall(self, duration_s: float | None = None) -> None:
        """Stay connected but send no data notifications (for ``duration_s``, or until
        :meth:`resume`). Data produced meanwhile is lost, as on a hung band."""
        self._record("stall", duration=-1.0 if duration_s is None else duration_s)
        self.stalled = True
        if self._stall_handle is not None:
            self._stall_handle.cancel()
            self._stall_handle = None
        if duration_s is not None:
            loop = asyncio.get_running_loop()
            self._stall_handle = loop.call_later(self._band.wall_seconds(duration_s), self.resume)

    def resume(self) -> None:
        self.stalled = False
        self._stall_handle = None

    def corrupt_frames(self, count: int = 1, bit_flips: int = 1) -> None:
        """Flip ``bit_flips`` random bits in each of the next ``count`` data frames."""
        self._record("corrupt", count=count, bits=bit_flips)
        self._corrupt.extend([bit_flips] * count)

    def truncate_frames(self, count: int = 1, keep_fraction: float = 0.5) -> None:
        """Cut each of the next ``count`` data frames to ``keep_fraction`` of its length."""
        self._record("truncate", count=count, keep=keep_fraction)
        self._truncate.extend([keep_fraction] * count)

    def reorder_frames(self, count: int = 1) -> None:
        """Swap the next ``count`` pairs of consecutive data frames."""
        self._record("reorder", count=count)
        self._reorder_pairs += count

    def clock_jump(self, seconds: float) -> None:
        """Move the band's device clock (timestamps) by ``seconds``."""
        self._record("clock-jump", by=seconds)
        self._band.jump_clock(seconds)

    def restart(self, boot_s: float = 2.0) -> None:
        """Reboot: link lost, invisible for ``boot_s``, streams and state reset per model."""
        self._record("restart", boot=boot_s)
        self._held = None
        self._band.restart(boot_s)

    def stream_stop(self) -> None:
        """The band ends its stream on its own (Polar pushes ``01 <type>`` on the CP)."""
        self._record("stream-stop")
        self._band.device_stops_stream()

    def leave_unanswered(self, count: int = 1) -> None:
        """Give the next ``count`` GATT requests (reads, writes, notification starts) no
        answer at all: the host's call waits until its caller gives up."""
        self._record("unanswered", count=count)
        self._unanswered += count

    def takes_request(self) -> bool:
        """Whether the GATT request arriving now gets an answer (counts one down if not)."""
        if self._unanswered:
            self._unanswered -= 1
            return False
        return True

    def apply(self, name: str, **params: float) -> None:
        """Apply a fault by spec name (as in the ``--faults`` grammar)."""
        actions: dict[str, Callable[[], None]] = {
            "link-loss": lambda: self.link_loss(params.get("refuse", 0.0)),
            "stall": lambda: self.stall(params.get("for")),
            "corrupt": lambda: self.corrupt_frames(
                int(params.get("count", 1)), int(params.get("bits", 1))
            ),
            "truncate": lambda: self.truncate_frames(
                int(params.get("count", 1)), params.get("keep", 0.5)
            ),
            "reorder": lambda: self.reorder_frames(int(params.get("count", 1))),
            "clock-jump": lambda: self.clock_jump(params.get("by", 0.0)),
            "restart": lambda: self.restart(params.get("boot", 2.0)),
            "stream-stop": self.stream_stop,
            "unanswered": lambda: self.leave_unanswered(int(params.get("count", 1))),
        }
        if name not in actions:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_KINDS)}")
        actions[name]()

    # ---- the data path -------------------------------------------------------------------

    def filter_frame(self, frame: bytes) -> list[bytes]:
        """What actually goes out for one data frame: zero, one or two frames."""
        if self.stalled:
            return []
        data = bytearray(frame)
        if self._truncate:
            keep = self._truncate.pop(0)
            data = data[: max(1, int(len(data) * keep))]
        if self._corrupt:
            for _ in range(self._corrupt.pop(0)):
                bit = self._rng.randrange(len(data) * 8)
                data[bit // 8] ^= 1 << (bit % 8)
        out = bytes(data)
        if self._held is not None:
            held, self._held = self._held, None
            return [out, held]
        if self._reorder_pairs:
            self._reorder_pairs -= 1
            self._held = out
            return []
        return [out]

    def reset_link_state(self) -> None:
        """A held-back frame dies with the link."""
        self._held = None


@dataclass
class ScheduledFault:
    at_s: float
    kind: str
    params: dict[str, float] = field(default_factory=dict)
    every_s: float | None = None


_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([smh]?)\s*$")


def parse_seconds(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"bad duration {text!r} (use e.g. 30, 30s, 5m, 1.5h)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def parse_fault_spec(spec: str) -> list[ScheduledFault]:
    """Parse the ``--faults`` grammar (module docstring) into scheduled faults."""
    out: list[ScheduledFault] = []
    for raw in spec.split(";"):
        item = raw.strip()
        if not item:
            continue
        head, _, args = item.partition(":")
        kind, at_sign, when = head.partition("@")
        kind = kind.strip()
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r} in {item!r}; known: {', '.join(FAULT_KINDS)}")
        if not at_sign:
            raise ValueError(f"fault {item!r} needs a time: {kind}@SECONDS")
        at, _, every = when.partition("+")
        params: dict[str, float] = {}
        for pair in filter(None, (p.strip() for p in args.split(","))):
            key, eq, value = pair.partition("=")
            if not eq:
                raise ValueError(f"bad parameter {pair!r} in {item!r} (use key=value)")
            params[key.strip()] = (
                parse_seconds(value)
                if key.strip() in ("refuse", "for", "by", "boot")
                else float(value)
            )
        every_s = parse_seconds(every) if every else None
        if every_s is not None and every_s <= 0:
            raise ValueError(f"repeat interval must be positive in {item!r}")
        out.append(ScheduledFault(parse_seconds(at), kind, params, every_s))
    return out


async def run_fault_schedule(band: Band, schedule: list[ScheduledFault]) -> None:
    """Apply scheduled faults at their band times (from the start of the band's clock,
    i.e. of its first stream); runs until cancelled or the schedule ends."""
    pending = sorted(((f.at_s, i, f) for i, f in enumerate(schedule)), key=lambda x: x[:2])
    while pending:
        at, i, fault = pending.pop(0)
        await band.sleep_until_band(at)
        band.faults.apply(fault.kind, **fault.params)
        if fault.every_s is not None:
            pending.append((at + fault.every_s, i, fault))
            pending.sort(key=lambda x: x[:2])

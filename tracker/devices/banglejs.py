"""Bangle.js 2 (Espruino) streaming text lines over the Nordic UART Service.

Espruino has no accelerometer protocol: the host uploads a one-line JavaScript snippet to the
REPL on the NUS and parses the lines it prints. Facts from espruino/Espruino
(libs/banglejs/jswrap_bangle.c, src/jsinteractive.c, boards/BANGLEJS2.py) and espruino.com/BLE+UART.

Line format (ours), one sample per line, watch clock in seconds, acceleration in g:

    A,<getTime() s, 3 decimals>,<x g>,<y g>,<z g>\\n      e.g.  A,1700000000.125,-0.012,0.034,-1.001

The watch prints a batch of lines at once, and the NUS slices the text into notifications at
arbitrary points, so lines are re-assembled (`BangleLineAssembler`) before parsing
(`parse_banglejs_line`). There is no counter: the `accel` event is raised from a "new data"
flag, so readings lost while JavaScript is busy never existed as events; time gaps show them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from .base import DecodedFrame, FrameError, GattWrite, Profile

NUS_SERVICE_UUID = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
NUS_RX_UUID = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"  # host -> watch
NUS_TX_UUID = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"  # watch -> host, notify
NAME_PREFIX = "Bangle.js"  # followed by 4 hex digits of the MAC

# 12.5 Hz with the poll interval fixed at 80 ms; power save would drop to 1.25 Hz after a still
# minute, exactly while sitting, so the snippet turns it off.
NOMINAL_RATE_HZ = 12.5
BATCH_LINES = 5
LINE_PREFIX = b"A,"
MAX_ABS_G = 16.0  # the KX023 runs at +-4 g; anything far beyond is not a reading
WRITE_CHUNK = 20  # safe for any MTU
DLE = "\x10"  # a REPL line starting with DLE is executed without echo

# One REPL line. Named globals so a reconnect replaces the listeners instead of adding more;
# the disconnect handler restores power save so a forgotten stream does not drain the watch.
START_SNIPPET = (
    "(function(){var b='',n=0;"
    "if(global.__sitA)Bangle.removeListener('accel',global.__sitA);"
    "if(global.__sitD)NRF.removeListener('disconnect',global.__sitD);"
    "global.__sitA=function(a){"
    "b+='A,'+getTime().toFixed(3)+','+a.x.toFixed(3)+','+a.y.toFixed(3)+','+a.z.toFixed(3)+'\\n';"
    f"if(++n>={BATCH_LINES}){{Bluetooth.print(b);b='';n=0;}}}};"
    "global.__sitD=function(){Bangle.removeListener('accel',global.__sitA);"
    "Bangle.setOptions({powerSave:true});};"
    "NRF.on('disconnect',global.__sitD);"
    "Bangle.setPollInterval(80);"
    "Bangle.on('accel',global.__sitA);})()"
)
STOP_SNIPPET = (
    "if(global.__sitA)Bangle.removeListener('accel',global.__sitA);"
    "if(global.__sitD)NRF.removeListener('disconnect',global.__sitD);"
    "Bangle.setOptions({powerSave:true})"
)

_NUMBER = r"-?\d{1,12}(?:\.\d{1,9})?"
_LINE = re.compile(rf"A,({_NUMBER}),({_NUMBER}),({_NUMBER}),({_NUMBER})")


def repl_line_writes(code: str) -> tuple[GattWrite, ...]:
    """`DLE + code + newline`, cut into writes of at most 20 bytes."""
    if "\n" in code:
        raise ValueError("REPL code must be one line")
    payload = (DLE + code + "\n").encode("ascii")
    return tuple(
        GattWrite(NUS_RX_UUID, payload[i : i + WRITE_CHUNK])
        for i in range(0, len(payload), WRITE_CHUNK)
    )


def parse_banglejs_line(line: bytes | str) -> DecodedFrame:
    """One `A,t,x,y,z` line (without its newline) to a one-sample frame."""
    if isinstance(line, bytes):
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise FrameError("non-ASCII Bangle.js line") from None
    else:
        text = line
    match = _LINE.fullmatch(text.strip("\r"))
    if match is None:
        raise FrameError("not an A,t,x,y,z line")
    t, x, y, z = (float(g) for g in match.groups())
    if max(abs(x), abs(y), abs(z)) > MAX_ABS_G:
        raise FrameError("Bangle.js acceleration beyond any sensor range")
    if not math.isfinite(t) or t < 0:
        raise FrameError("bad Bangle.js time")
    return DecodedFrame(xyz=np.array([[x, y, z]], dtype=np.float32), device_time_s=t)


class BangleLineAssembler:
    """Re-joins lines split across notifications; drops over-long garbage instead of growing."""

    def __init__(self, max_line: int = 256) -> None:
        self.max_line = max_line
        self._partial = b""
        self.dropped = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        parts = (self._partial + bytes(chunk)).split(b"\n")
        self._partial = parts.pop()
        if len(self._partial) > self.max_line:
            self._partial = b""
            self.dropped += 1
        return [p.rstrip(b"\r") for p in parts]


class BangleStreamDecoder:
    """Lines not starting with `A,` (REPL prompts, echoes, errors) are ignored and counted;
    malformed `A,` lines are rejected."""

    def __init__(self) -> None:
        self._lines = BangleLineAssembler()
        self.rejected = 0
        self.ignored = 0
        self.last_error: str | None = None

    def feed(self, data: bytes) -> list[DecodedFrame]:
        frames: list[DecodedFrame] = []
        for line in self._lines.feed(data):
            # Espruino may prefix output with a prompt or DLE; look for our prefix in the line.
            start = line.find(LINE_PREFIX)
            if start < 0:
                self.ignored += 1
                continue
            try:
                frames.append(parse_banglejs_line(line[start:]))
            except FrameError as exc:
                self.rejected += 1
                self.last_error = str(exc)
        return frames


def decode_banglejs_notification(data: bytes) -> DecodedFrame:
    """Samples of every complete `A,` line in one notification, assuming it starts on a line
    boundary (use `BangleStreamDecoder` for a live stream, where it usually does not)."""
    rows: list[np.ndarray] = []
    last_time: float | None = None
    for line in bytes(data).split(b"\n")[:-1]:
        frame = parse_banglejs_line(line.rstrip(b"\r"))
        rows.append(frame.xyz)
        last_time = frame.device_time_s
    if not rows:
        raise FrameError("no complete Bangle.js line")
    return DecodedFrame(xyz=np.concatenate(rows), device_time_s=last_time)


def matches_banglejs(
    name: str | None, service_uuids: Sequence[str], manufacturer_data: Mapping[int, bytes]
) -> bool:
    # Not the NUS UUID alone: every Espruino board and many other gadgets advertise it.
    return name is not None and name.startswith(NAME_PREFIX)


BANGLEJS2 = Profile(
    id="banglejs2",
    family="banglejs",
    model="Bangle.js 2",
    service_uuid=NUS_SERVICE_UUID,
    data_uuid=NUS_TX_UUID,
    command_uuid=NUS_RX_UUID,
    nominal_rate_hz=NOMINAL_RATE_HZ,
    notification_interval_s=BATCH_LINES / NOMINAL_RATE_HZ,
    matches=matches_banglejs,
    decode=decode_banglejs_notification,
    start_writes=repl_line_writes(START_SNIPPET),
    stop_writes=repl_line_writes(STOP_SNIPPET),
    make_stream_decoder=BangleStreamDecoder,
)

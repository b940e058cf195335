"""Bangle.js 2 over the Nordic UART (docs spec §3): our line format, split lines, the JS side."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.devices import PROFILES, match_advertisement
from tracker.devices.banglejs import (
    NUS_RX_UUID,
    NUS_SERVICE_UUID,
    NUS_TX_UUID,
    START_SNIPPET,
    STOP_SNIPPET,
    BangleLineAssembler,
    BangleStreamDecoder,
    decode_banglejs_notification,
    parse_banglejs_line,
    repl_line_writes,
)
from tracker.devices.base import FrameError

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "firmware_notes" / "banglejs" / "sitting-stream.app.js"

# (line, expected xyz g, watch time s)
VECTORS = [
    # CONSTRUCTED (spec §3, our own format).
    (b"A,1700000000.125,-0.012,0.034,-1.001", (-0.012, 0.034, -1.001), 1700000000.125),
    # CONSTRUCTED: integer fields, CR before the newline, and a watch clock never set (1970).
    (b"A,12,0,1,0\r", (0.0, 1.0, 0.0), 12.0),
]


@pytest.mark.parametrize(("line", "xyz", "t"), VECTORS)
def test_vectors(line: bytes, xyz: tuple[float, float, float], t: float) -> None:
    frame = parse_banglejs_line(line)
    assert frame.xyz.dtype == np.float32 and frame.xyz.shape == (1, 3)
    np.testing.assert_allclose(frame.xyz[0], xyz, atol=1e-6)
    assert frame.device_time_s == t


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b">",
        b"A,1,2,3",
        b"A,1,2,3,4,5",
        b"A,nan,0,0,1",
        b"A,1,inf,0,1",
        b"A,1,1_0,0,1",
        b"A,1,0x10,0,1",
        b"A,1,99,0,1",  # beyond any sensor range
        b"A,-5,0,0,1",
        b"A,1,0,0,\xff",
        b"B,1,0,0,1",
    ],
)
def test_rejected_lines(line: bytes) -> None:
    with pytest.raises(FrameError):
        parse_banglejs_line(line)


def test_lines_split_across_notifications() -> None:
    text = b"A,1.000,0.1,0.2,0.3\nA,1.080,0.1,0.2,0.4\n>\nUncaught Error\nA,1.160,0,0,1\n"
    decoder = BangleStreamDecoder()
    frames = []
    for i in range(0, len(text), 7):  # arbitrary slices, as the NUS delivers them
        frames += decoder.feed(text[i : i + 7])
    assert [f.device_time_s for f in frames] == [1.0, 1.08, 1.16]
    np.testing.assert_allclose(frames[1].xyz[0], (0.1, 0.2, 0.4), atol=1e-6)
    assert decoder.ignored == 2 and decoder.rejected == 0
    assert decoder.feed(b"A,1,zz,0,1\n") == [] and decoder.rejected == 1


def test_prompt_before_line_and_overlong_garbage() -> None:
    decoder = BangleStreamDecoder()
    assert decoder.feed(b">A,2.5,0,0,1\n")[0].device_time_s == 2.5
    assembler = BangleLineAssembler(max_line=16)
    assert assembler.feed(b"x" * 40) == [] and assembler.dropped == 1
    assert assembler.feed(b"A,1,0,0,1\n") == [b"A,1,0,0,1"]


def test_whole_notification_decoder() -> None:
    frame = decode_banglejs_notification(b"A,1.0,0,0,1\nA,1.08,0,1,0\n")
    np.testing.assert_allclose(frame.xyz, [(0, 0, 1), (0, 1, 0)])
    assert frame.device_time_s == 1.08
    with pytest.raises(FrameError):
        decode_banglejs_notification(b"A,1.0,0,0")


def test_repl_writes_are_small_and_reassemble() -> None:
    writes = repl_line_writes(START_SNIPPET)
    assert all(w.char_uuid == NUS_RX_UUID and len(w.data) <= 20 for w in writes)
    joined = b"".join(w.data for w in writes)
    assert joined == b"\x10" + START_SNIPPET.encode() + b"\n"
    assert PROFILES["banglejs2"].start_writes == writes
    assert b"".join(w.data for w in PROFILES["banglejs2"].stop_writes).startswith(b"\x10")
    with pytest.raises(ValueError):
        repl_line_writes("a\nb")


def test_uuids_and_matching() -> None:
    profile = PROFILES["banglejs2"]
    assert profile.service_uuid == NUS_SERVICE_UUID == "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
    assert profile.data_uuid == NUS_TX_UUID == "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
    assert profile.command_uuid == NUS_RX_UUID == "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
    assert match_advertisement("Bangle.js 3f2a", [], {}) is profile
    assert match_advertisement("Puck.js 1234", [NUS_SERVICE_UUID], {}) is None


# A tiny Espruino stand-in, enough to run the snippet and the app under Node.
ESPRUINO_STUB = r"""
const out = [];
let t = 1700000000.0;
const listeners = {};
global.getTime = () => t;
global.Bluetooth = { print: (s) => out.push(s) };
const chain = new Proxy({}, { get: (o, k) => () => chain });
global.g = chain;
global.Bangle = {
  appRect: { x: 0, y: 24, x2: 175, y2: 175 },
  on: (e, f) => { (listeners[e] = listeners[e] || []).push(f); },
  removeListener: (e, f) => { listeners[e] = (listeners[e] || []).filter((x) => x !== f); },
  setPollInterval: () => {}, setOptions: () => {}, loadWidgets: () => {},
  drawWidgets: () => {}, setUI: () => {},
};
global.NRF = { on: Bangle.on, removeListener: Bangle.removeListener,
  getSecurityStatus: () => ({ connected: true }) };
global.setInterval = () => 1; global.clearInterval = () => {}; global.load = () => {};
const code = require("fs").readFileSync(0, "utf8");
eval(code); eval(code);  // twice: a reconnect must not double the listener
if (listeners.accel.length !== 1) throw new Error("duplicate accel listeners");
for (let i = 0; i < 10; i++) {
  t += 0.08;
  listeners.accel.forEach((f) => f({ x: 0.01 * i, y: -0.5, z: 0.8665, diff: 0, mag: 1 }));
}
process.stdout.write(out.join(""));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
@pytest.mark.parametrize("source", ["snippet", "app"])
def test_javascript_output_decodes(source: str, tmp_path: Path) -> None:
    code = START_SNIPPET if source == "snippet" else APP.read_text()
    stub = tmp_path / "stub.js"
    stub.write_text(ESPRUINO_STUB)
    result = subprocess.run(
        ["node", str(stub)], input=code, capture_output=True, text=True, timeout=30, check=True
    )
    decoder = BangleStreamDecoder()
    frames = decoder.feed(result.stdout.encode())
    assert len(frames) == 10 and decoder.rejected == decoder.ignored == 0
    np.testing.assert_allclose(frames[9].xyz[0], (0.09, -0.5, 0.867), atol=1e-6)
    assert frames[0].device_time_s == pytest.approx(1700000000.08)
    assert STOP_SNIPPET.count("removeListener") == 2


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=80),
        st.sampled_from([v[0] for v in VECTORS]).map(lambda b: b + b"\n"),
        st.text(alphabet="A,0123456789.-\n\r>", max_size=80).map(str.encode),
    )
)
def test_fuzz_only_frame_error_escapes(data: bytes) -> None:
    try:
        frame = parse_banglejs_line(data)
        assert np.isfinite(frame.xyz).all()
    except FrameError:
        pass
    with contextlib.suppress(FrameError):
        decode_banglejs_notification(data)
    BangleStreamDecoder().feed(data)

"""Pure encoder, motion and fault-filter tests (no bus needed)."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.emulator.bands import Band
from tracker.emulator.encoders import (
    encode_heart_rate,
    encode_infinitime_motion,
    encode_new_alert,
    encode_pmd_delta_frame,
    encode_pmd_raw_frame,
    encode_pmd_settings,
    fit_delta_frame,
    g_to_infinitime_counts,
    parse_new_alert,
    parse_pmd_settings,
    pmd_cp_response,
    signed_width,
)
from tracker.emulator.faults import parse_fault_spec
from tracker.emulator.motion import ArrayMotionSource, MotionTimeline
from tracker.emulator.polar_band import PolarH10, PolarVeritySense

pytestmark = pytest.mark.timeout(30)

# V6 (spec §1.10): a real Verity Sense 0x81 frame, 99 samples, blocks (6,62) (4,20) (6,16).
V6 = bytes.fromhex(
    "022e578af13732940a81aeffc2ffe603063e7db213f9e1233cd1fbbe1f00451010bcef07825100"
    "79fff3402ff8832 0f84120e88160143ce00ff7ff2f3d71f7b8202005b0f7c1eeef0931f0f5d137"
    "b7e02b4afce889ba1344c00b01b1fb7f3f000600 11c0cef7f64e0cc3df137f9e0343c017bfb017"
    "c5e0f3c31e0c01901bc2f0ff3ee0fbba102000b0fb3ef107fc700cc1fdf342411 87a9f03fedf07"
    "880f0414e4232c4b53b2dc120e1c63d2eb304211eb2b3130d10d1250bdffd3e3c0d106100022 0c"
    "f91ffc06a0e33f52fc7ee00f39d1277fd003c02f0881d0ebbf6100fbc0177b3000".replace(" ", "")
)


def test_v6_capture_decodes_as_the_spec_says(pmd_reference_decode):
    frame_type, timestamp, samples = pmd_reference_decode(V6)
    assert (frame_type, timestamp, len(V6)) == (0x81, 762_289_452_789_421_870, 228)
    assert samples.shape == (99, 3)
    assert samples[0].tolist() == [-82, -62, 998] and samples[98].tolist() == [-82, -46, 996]
    assert samples.sum(axis=0).tolist() == [-8077, -5280, 98674]


def test_delta_encoder_reproduces_the_v6_capture_up_to_padding_bits(pmd_reference_decode):
    _, timestamp, samples = pmd_reference_decode(V6)
    ours = encode_pmd_delta_frame(samples, timestamp, blocks=[(6, 62), (4, 20), (6, 16)])
    assert len(ours) == len(V6)
    # Block data ends at 16+2+140, 158+2+30, 190+2+36 = frame end; only pad bits may differ.
    padding_bytes = {157, 189, 227}
    for i, (a, b) in enumerate(zip(ours, V6, strict=True)):
        if i not in padding_bytes:
            assert a == b, f"byte {i}: {a:02x} != {b:02x}"
    assert pmd_reference_decode(ours)[2].tolist() == samples.tolist()


def test_delta_encoder_matches_v3_bit_layout():
    # V3: T=102, reference (-15, 20, 1008), one block W=6 N=1 -> (-20, 17, 1008)
    v3 = bytes.fromhex("026600000000000000 81f1ff1400f003 0601 7b0f08".replace(" ", ""))
    ours = encode_pmd_delta_frame(
        np.array([[-15, 20, 1008], [-20, 17, 1008]]), 102, blocks=[(6, 1)]
    )
    assert ours[:-1] == v3[:-1]
    assert ours[-1] & 0x03 == v3[-1] & 0x03  # the high 6 bits are padding


@pytest.mark.parametrize("min_width", [0, 1, 2])
def test_delta_round_trip_including_tiny_and_wide_widths(pmd_reference_decode, min_width):
    rng = np.random.default_rng(min_width)
    steps = np.concatenate(
        [np.zeros((40, 3)), rng.integers(-1, 1, (40, 3)), rng.integers(-9000, 9000, (40, 3))]
    ).astype(np.int64)
    samples = np.clip(np.cumsum(steps, axis=0) + 500, -16000, 16000)
    frame = encode_pmd_delta_frame(samples, 42, min_width=min_width, block_len=17)
    frame_type, timestamp, decoded = pmd_reference_decode(frame)
    assert (frame_type, timestamp) == (0x81, 42)
    assert decoded.tolist() == samples.tolist()


def test_fit_delta_frame_is_the_largest_prefix_that_fits():
    rng = np.random.default_rng(3)
    samples = np.cumsum(rng.integers(-20, 20, (400, 3)), axis=0)
    for max_bytes in (40, 100, 229):
        n = fit_delta_frame(samples, max_bytes)
        assert len(encode_pmd_delta_frame(samples[:n], 0)) <= max_bytes
        assert len(encode_pmd_delta_frame(samples[: n + 1], 0)) > max_bytes


def test_signed_width():
    assert [signed_width(np.array(v)) for v in ([0], [-1], [1], [-2, 1], [2], [-3])] == [
        0,
        1,
        2,
        2,
        3,
        3,
    ]


def test_raw_frame_matches_h10_vendor_vector_v4():
    v4 = bytes.fromhex("02EA54A2428B45520801 45FFE4FFB503 45FFE4FFB803".replace(" ", ""))
    ours = encode_pmd_raw_frame(
        np.array([[-187, -28, 949], [-187, -28, 952]]), 599_618_164_814_402_794, frame_type=0x01
    )
    assert ours == v4


def test_settings_replies_match_vendor_vectors():
    c2 = bytes.fromhex("F00102000000041900320064 00C800010110000203020004000800".replace(" ", ""))
    c3 = bytes.fromhex("F0010200000001340001011000020108000401 03".replace(" ", ""))
    assert pmd_cp_response(1, 2, 0, encode_pmd_settings(PolarH10.settings_offer)) == c2
    assert pmd_cp_response(1, 2, 0, encode_pmd_settings(PolarVeritySense.settings_offer)) == c3
    assert parse_pmd_settings(c3[5:]) == {0: [52], 1: [16], 2: [8], 4: [3]}
    assert pmd_cp_response(2, 2, 0, b"\x01") == bytes.fromhex("F002020000 01".replace(" ", ""))
    assert pmd_cp_response(3, 2, 0) == bytes.fromhex("F003020000")
    assert pmd_cp_response(1, 6, 7, b"\xff") == bytes.fromhex("F001060700")  # C10: no params
    with pytest.raises(ValueError):
        parse_pmd_settings(bytes.fromhex("04010300"))  # 2-byte CHANNELS leaves a stray byte


def test_features_bitmaps():
    assert PolarVeritySense.features[:3] == bytes.fromhex("0f6e00")
    assert PolarH10.features[:3] == bytes.fromhex("0f0500")
    assert len(PolarVeritySense.features) == 17


def test_infinitime_and_standard_services():
    assert encode_infinitime_motion(-30, 12, -1020) == bytes.fromhex("E2FF0C0004FC")
    assert g_to_infinitime_counts(np.array([-0.0293, 0.0117, -0.9961])) == (-30, 12, -1020)
    assert g_to_infinitime_counts(np.array([3.0, -3.0, 0.0])) == (2047, -2048, 0)
    assert encode_heart_rate(60, True, True, [1041]) == bytes.fromhex("163C1104")
    assert encode_heart_rate(60, True, False) == bytes.fromhex("043C")
    alert = encode_new_alert("Stand up", "45 min sitting")
    assert parse_new_alert(alert) == (0, 1, "Stand up", "45 min sitting")


def test_motion_timeline_exact_skip_and_resample():
    data = np.arange(300, dtype=np.float32).reshape(100, 3)
    timeline = MotionTimeline(ArrayMotionSource(data, 50.0))
    assert timeline.window(0, 3, 50.0).tolist() == data[:3].tolist()
    assert timeline.window(10, 2, 50.0).tolist() == data[10:12].tolist()  # skipped 3..9
    assert timeline.window(98, 5, 50.0).tolist() == data[98:].tolist()  # source ends
    assert len(timeline.window(100, 5, 50.0)) == 0
    slow = MotionTimeline(ArrayMotionSource(data, 50.0))
    assert slow.window(1, 2, 25.0).tolist() == data[[2, 4]].tolist()
    fast = MotionTimeline(ArrayMotionSource(data, 50.0))
    np.testing.assert_allclose(fast.window(1, 1, 100.0)[0], (data[0] + data[1]) / 2)


def test_array_source_loops():
    source = ArrayMotionSource(np.zeros((4, 3)), 10.0, loop=True)
    assert len(source.read(10)) == 10 and not source.exhausted
    once = ArrayMotionSource(np.zeros((4, 3)), 10.0)
    assert len(once.read(10)) == 4 and once.exhausted


def test_fault_filter_corrupts_truncates_and_reorders():
    band = Band(ArrayMotionSource(np.zeros((1, 3)), 1.0), address="00:00:00:00:00:01", name="x")
    frame = bytes(range(100))
    band.faults.corrupt_frames(count=1, bit_flips=3)
    (corrupted,) = band.faults.filter_frame(frame)
    flipped = sum(bin(a ^ b).count("1") for a, b in zip(corrupted, frame, strict=True))
    assert 1 <= flipped <= 3 and flipped % 2 == 1  # 3 flips, two may hit the same bit
    band.faults.truncate_frames(count=1, keep_fraction=0.25)
    assert band.faults.filter_frame(frame) == [frame[:25]]
    band.faults.reorder_frames(count=1)
    assert band.faults.filter_frame(b"first") == []
    assert band.faults.filter_frame(b"second") == [b"second", b"first"]
    assert band.faults.filter_frame(b"third") == [b"third"]


def test_fault_spec_parser():
    spec = "link-loss@30:refuse=5; stall@1m:for=10;corrupt@90:count=3,bits=2;link-loss@5m+10m"
    faults = parse_fault_spec(spec)
    assert [(f.kind, f.at_s, f.every_s) for f in faults] == [
        ("link-loss", 30, None),
        ("stall", 60, None),
        ("corrupt", 90, None),
        ("link-loss", 300, 600),
    ]
    assert faults[0].params == {"refuse": 5} and faults[2].params == {"count": 3, "bits": 2}
    for bad in ("explode@3", "stall", "stall@soon", "corrupt@1:count"):
        with pytest.raises(ValueError):
            parse_fault_spec(bad)


def test_missing_dbus_daemon_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.emulator import bus

    monkeypatch.setattr(bus, "find_dbus_daemon", lambda: None)
    with pytest.raises(bus.DBusDaemonNotFoundError, match=r"scripts/install-system-deps\.sh"):
        bus.PrivateBus().start()

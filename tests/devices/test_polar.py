"""Polar PMD ACC: every vector of docs spec §1 (SDK-TEST, VENDOR-DOC, CAPTURE, CONSTRUCTED)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.devices import PROFILES, match_advertisement
from tracker.devices.base import (
    FrameError,
    HeartRateMeasurement,
    ProfileError,
    parse_heart_rate_measurement,
)
from tracker.devices.polar import (
    PMD_CP_UUID,
    PMD_DATA_UUID,
    PMD_EPOCH_OFFSET_NS,
    PmdAccStreamDecoder,
    PmdControlPointResponse,
    PmdMeasurementStopped,
    PmdResponseAssembler,
    build_get_settings_request,
    build_sdk_mode_request,
    build_start_request,
    build_stop_request,
    choose_acc_settings,
    decode_pmd_acc_frame,
    decode_pmd_acc_samples,
    parse_cp_indication,
    parse_cp_response,
    parse_pmd_features,
    parse_pmd_settings,
    parse_start_response_factor,
    pmd_sample_times_ns,
    unpack_pmd_deltas,
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# -- Data frames ---------------------------------------------------------------------------------

# V1, SDK-TEST: Android AccDataTest "process acc raw data frame type 1" (same bytes in iOS
# AccDataTest.testProcessAccRawDataFrameType1), polarofficial/polar-ble-sdk @ 8fb5311c.
V1 = h(
    "02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF"
    "FF FF E5 03 FA FF FF FF E6 03 FA FF FE FF E6 03 F9 FF FF FF E5 03 F8 FF"
    "FF FF E6 03 F8 FF FE FF E6 03 FA FF FF FF E5 03 FA FF FF FF E7 03 FA FF"
    "FF FF E5 03 F8 FF FF FF E6 03 F7 FF FF FF E6 03 F8 FF FE FF E6 03 F9 FF"
    "FE FF E7 03 F9 FF 00 00 E6 03 F9 FF FF FF E6 03 F7 FF FE FF E5 03 F9 FF"
    "FF FF E5 03 F9 FF FF FF E5 03 FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF"
    "FF FF E6 03 F8 FF FF FF E5 03 F9 FF FF FF E6 03 F9 FF FF FF E5 03 FA FF"
    "FF FF E6 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03 F8 FF FE FF E6 03 F9 FF"
    "FF FF E6 03 F9 FF FF FF E6 03 F9 FF 00 00 E5 03 F9 FF FE FF E6 03 F8 FF"
    "FE FF E6 03 F7 FF FE FF E6 03"
)
# V2, SDK-TEST: Android "process acc compressed data type 0", iOS
# testProcessAccCompressedFrameType0 (factor 2.44e-4, previous frame at 100 ns).
V2 = h(
    "02 00 94 35 77 00 00 00 00 80 71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96"
    "B3 EE 4B E5 AD FB 42 B9 EB BE 4C FE BA 2F 92 BF EE 4B E4 B1 FB 12 B9 EC"
    "BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD 30 7E 7B 2F 8B E3 CE 8B"
    "E2 BA F7 A2 B8 EE BC 20 BE 7B 2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE"
    "3B 2F 84 03 BF CB E0 C2 EF 32 B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 C6 EF"
    "F2 F7 F1 B9 FC 7D BC 2E 7D 27 9F 4B DF CA EB C2 F7 F2 B8 EC CD 7C 2E 7B"
    "37 8F 4B DE CE E3 92 F7 F3 B8 E0 0D FD 2D 77 4B 7F CB DD D2 DF 62 37 F5"
    "B7 D4 4D BD 2D 74 5B 6F CB DC D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B 4F 4B"
    "DC DC D3 F2 36 F7 B4 BC DD FD 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D"
    "BE 2C 6C 8F 1F CB DA E3 C7 A2 76 F9"
)
# V3, SDK-TEST: iOS testProcessAccCompressedFrameType1 (Android: same payload, T = 0x65).
V3 = h("02 66 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")
V3_ANDROID = h("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")
# V4, VENDOR-DOC: Polar_Measurement_Data_Specification.pdf "Start Stream" (H10, first two
# samples; the document's -184 for 45 FF is a slip, 0xFF45 = -187).
V4 = h("02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03 45 FF E4 FF B8 03")
# V5, VENDOR-DOC: same diagrams, Verity 0x80 frame, head only (the block is cut short).
V5 = h(
    "02 64 6C 76 C4 3C C6 7F 07 80 D0 FF 65 01 E4 0F 08 1D FC 07 FF 0C 13 F2 11 F1 1A F9 EE F8"
    "EF 0C 03 09 F2"
)
# V6, CAPTURE: real Verity Sense 0x81 frame, polar-ble-sdk issue #443 (2024-02-27).
V6 = h(
    "02 2E 57 8A F1 37 32 94 0A 81 AE FF C2 FF E6 03 06 3E 7D B2 13 F9 E1 23"
    "3C D1 FB BE 1F 00 45 10 10 BC EF 07 82 51 00 79 FF F3 40 2F F8 83 20 F8"
    "41 20 E8 81 60 14 3C E0 0F F7 FF 2F 3D 71 F7 B8 20 20 05 B0 F7 C1 EE EF"
    "09 31 F0 F5 D1 37 B7 E0 2B 4A FC E8 89 BA 13 44 C0 0B 01 B1 FB 7F 3F 00"
    "06 00 11 C0 CE F7 F6 4E 0C C3 DF 13 7F 9E 03 43 C0 17 BF B0 17 C5 E0 F3"
    "C3 1E 0C 01 90 1B C2 F0 FF 3E E0 FB BA 10 20 00 B0 FB 3E F1 07 FC 70 0C"
    "C1 FD F3 42 41 18 7A 9F 03 FE DF 07 88 0F 04 14 E4 23 2C 4B 53 B2 DC 12"
    "0E 1C 63 D2 EB 30 42 11 EB 2B 31 30 D1 0D 12 50 BD FF D3 E3 C0 D1 06 10"
    "00 22 0C F9 1F FC 06 A0 E3 3F 52 FC 7E E0 0F 39 D1 27 7F D0 03 C0 2F 08"
    "81 D0 EB BF 61 00 FB C0 17 7B 30 00"
)

# (frame, timestamp ns, frame type, n samples, {index: raw sample}, raw column sums or None)
RAW_VECTORS: list[tuple[str, bytes, int, int, int, dict[int, tuple[int, int, int]], Any]] = [
    (
        "V1 SDK-TEST",
        V1,
        2_000_000_000,
        0x01,
        36,
        {0: (-9, -1, 999), 1: (-8, -2, 997), 2: (-7, -1, 997), 35: (-9, -2, 998)},
        (-262, -44, 35918),
    ),
    (
        "V2 SDK-TEST",
        V2,
        2_000_000_000,
        0x80,
        57,
        {
            0: (1905, 27376, -29282),
            1: (2095, 27271, -29367),
            2: (2285, 27165, -29451),
            56: (12274, 20173, -32449),
        },
        (407646, 1367041, -1774775),
    ),
    ("V3 SDK-TEST", V3, 102, 0x81, 2, {0: (-15, 20, 1008), 1: (-20, 17, 1008)}, None),
    (
        "V4 VENDOR-DOC",
        V4,
        599_618_164_814_402_794,
        0x01,
        2,
        {0: (-187, -28, 949), 1: (-187, -28, 952)},
        None,
    ),
    (
        "V6 CAPTURE",
        V6,
        762_289_452_789_421_870,
        0x81,
        99,
        {0: (-82, -62, 998), 1: (-85, -53, 993), 2: (-81, -60, 1000), 98: (-82, -46, 996)},
        (-8077, -5280, 98674),
    ),
]


@pytest.mark.parametrize(
    ("label", "frame", "t_ns", "frame_type", "n", "samples", "sums"),
    RAW_VECTORS,
    ids=[v[0] for v in RAW_VECTORS],
)
def test_raw_vectors(
    label: str,
    frame: bytes,
    t_ns: int,
    frame_type: int,
    n: int,
    samples: dict[int, tuple[int, int, int]],
    sums: tuple[int, int, int] | None,
) -> None:
    header, raw = decode_pmd_acc_samples(frame)
    assert header.measurement_type == 2
    assert header.timestamp_ns == t_ns
    assert header.frame_type == frame_type
    assert raw.shape == (n, 3)
    for i, expected in samples.items():
        assert tuple(raw[i]) == expected
    if sums is not None:
        assert tuple(raw.sum(axis=0)) == sums


def test_v1_in_g_and_device_time() -> None:
    frame = decode_pmd_acc_frame(V1)
    assert frame.xyz.dtype == np.float32 and frame.xyz.shape == (36, 3)
    np.testing.assert_allclose(frame.xyz[0], [-0.009, -0.001, 0.999], atol=1e-6)
    # ns since 2000-01-01 -> seconds since the Unix epoch.
    assert frame.device_time_s == pytest.approx(946_684_800 + 2.0, abs=1e-6)
    assert frame.sequence is None


def test_v2_factor_gives_sdk_milli_g() -> None:
    frame = decode_pmd_acc_frame(V2, factor=2.44e-4)
    milli_g = frame.xyz * 1000
    # SDK truncates raw x 0.244 toward zero; compare with +-1 mG (float32 rounding).
    for i, expected in {
        0: (464, 6679, -7144),
        1: (511, 6654, -7165),
        56: (2994, 4922, -7917),
    }.items():
        np.testing.assert_allclose(milli_g[i], expected, atol=1.0)


def test_v2_needs_factor() -> None:
    with pytest.raises(FrameError, match="factor"):
        decode_pmd_acc_frame(V2)


def test_v3_is_milli_g_and_factor_one_is_ignored() -> None:
    np.testing.assert_allclose(
        decode_pmd_acc_frame(V3).xyz, [[-0.015, 0.02, 1.008], [-0.02, 0.017, 1.008]], atol=1e-6
    )
    np.testing.assert_allclose(
        decode_pmd_acc_frame(V3, factor=1.0).xyz[0], [-0.015, 0.02, 1.008], atol=1e-6
    )


def test_v4_h10_clock_from_2019_default() -> None:
    frame = decode_pmd_acc_frame(V4)
    # 2019-01-01T00:36:04.814 on the H10's reset clock.
    assert frame.device_time_s == pytest.approx(1_546_302_964.814, abs=1e-3)
    np.testing.assert_allclose(frame.xyz * 1000, [[-187, -28, 949], [-187, -28, 952]], atol=1e-3)


def test_v5_head_bit_unpacking_and_truncation() -> None:
    header, _ = decode_pmd_acc_samples(V5[:16])  # reference sample only
    assert header.timestamp_ns == 540_368_444_604_181_604
    assert header.frame_type == 0x80
    ref = np.array([-48, 357, 4068])
    assert tuple(V5[16:18]) == (8, 29)  # W = 8, N = 29
    deltas = unpack_pmd_deltas(V5[18:33], width=8, count=5)
    samples = ref + np.cumsum(deltas, axis=0)
    expected = [
        (-52, 364, 4067),
        (-40, 383, 4053),
        (-23, 368, 4079),
        (-30, 350, 4071),
        (-47, 362, 4074),
    ]
    assert [tuple(s) for s in samples] == expected
    ref_g = decode_pmd_acc_frame(V5[:16], factor=0.000244).xyz[0]
    np.testing.assert_allclose(ref_g, [-0.0117, 0.0871, 0.9926], atol=1e-4)
    # The document cuts the block short: a decoder must refuse it rather than guess.
    with pytest.raises(FrameError, match="truncated"):
        decode_pmd_acc_frame(V5, factor=0.000244)


def test_v6_worked_example_and_rest_magnitude() -> None:
    frame = decode_pmd_acc_frame(V6)
    np.testing.assert_allclose(frame.xyz[1] * 1000, [-85, -53, 993], atol=1e-3)
    mean_norm = np.linalg.norm(frame.xyz.astype(np.float64), axis=1).mean()
    assert mean_norm == pytest.approx(1.001, abs=0.001)
    assert frame.device_time_s == pytest.approx(
        (762_289_452_789_421_870 + PMD_EPOCH_OFFSET_NS) / 1e9, abs=1e-6
    )


# -- Timestamps (SDK PmdTimeStampUtils) ---------------------------------------------------------


def test_sample_times_without_previous_frame_v1() -> None:
    times = pmd_sample_times_ns(2_000_000_000, 36, sample_rate_hz=52)
    assert times[0] == 1_326_923_077
    assert times[1] == 1_346_153_846
    assert times[35] == 2_000_000_000


def test_sample_times_with_previous_frame_v2() -> None:
    times = pmd_sample_times_ns(2_000_000_000, 57, previous_frame_time_ns=100)
    assert times[0] == 35_087_818
    assert times[56] == 2_000_000_000


def test_sample_times_v3_and_half_to_even() -> None:
    assert pmd_sample_times_ns(102, 2, previous_frame_time_ns=100) == [101, 102]
    # Android variant: round(100.5) = 100, as Kotlin rounds half to even.
    assert pmd_sample_times_ns(101, 2, previous_frame_time_ns=100) == [100, 101]
    _, raw = decode_pmd_acc_samples(V3_ANDROID)
    assert tuple(raw[0]) == (-15, 20, 1008)


def test_stream_decoder_interval_from_consecutive_frames() -> None:
    decoder = PmdAccStreamDecoder(sample_rate_hz=52.0)
    first = decoder.feed(V1)[0]
    assert first.sample_interval_s == pytest.approx(1 / 52)
    later = bytearray(V1)
    later[1:9] = (2_000_000_000 + 36 * 20_000_000).to_bytes(8, "little")
    second = decoder.feed(bytes(later))[0]
    assert second.sample_interval_s == pytest.approx(0.02)
    # A clock jump backwards (H10 reset) falls back to the nominal rate.
    assert decoder.feed(V1)[0].sample_interval_s == pytest.approx(1 / 52)
    assert decoder.feed(b"\x02") == [] and decoder.rejected == 1


# -- Control point --------------------------------------------------------------------------------

C2 = h("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00")
C3 = h("F0 01 02 00 00 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
C5 = h("F0 02 02 00 00 01")
C7 = h("F0 02 02 00 00 05 01 40 DA 7F 39")
C7B = h("F0 02 02 00 00")
C8_RESPONSE = h("F0 03 02 00 00")
C9 = h("F0 01 02 00 00 FF FF FF")
C10 = h("F0 01 06 07 00")
C11_PARAMS = h("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03")

# (label, response bytes, opcode, type, status, more, parameters)
CP_RESPONSE_VECTORS = [
    ("C2 VENDOR-DOC", C2, 1, 2, 0, False, C2[5:]),
    ("C3 VENDOR-DOC", C3, 1, 2, 0, False, C3[5:]),
    ("C5 VENDOR-DOC", C5, 2, 2, 0, False, h("01")),
    ("C7 VENDOR-DOC", C7, 2, 2, 0, False, h("05 01 40 DA 7F 39")),
    ("C7b CAPTURE", C7B, 2, 2, 0, False, b""),
    ("C8 VENDOR-DOC", C8_RESPONSE, 3, 2, 0, False, b""),
    ("C9 SDK-TEST", C9, 1, 2, 0, False, h("FF FF FF")),
    ("C10 SDK-TEST", C10, 1, 6, 7, False, b""),
]


@pytest.mark.parametrize(
    ("label", "data", "opcode", "mtype", "status", "more", "params"),
    CP_RESPONSE_VECTORS,
    ids=[v[0] for v in CP_RESPONSE_VECTORS],
)
def test_cp_responses(
    label: str, data: bytes, opcode: int, mtype: int, status: int, more: bool, params: bytes
) -> None:
    response = parse_cp_response(data)
    assert response == PmdControlPointResponse(opcode, mtype, status, more, params)


def test_c10_status_name() -> None:
    response = parse_cp_response(C10)
    assert not response.ok and response.status_name == "invalid resolution"


# (label, parameters, parsed settings)
SETTINGS_VECTORS = [
    ("C2 VENDOR-DOC H10", C2[5:], {0: (25, 50, 100, 200), 1: (16,), 2: (2, 4, 8)}),
    ("C3 VENDOR-DOC Verity", C3[5:], {0: (52,), 1: (16,), 2: (8,), 4: (3,)}),
    ("C11 SDK-TEST", C11_PARAMS, {0: (52,), 1: (16,), 2: (245, 500, 1000, 2000), 4: (3,)}),
]


@pytest.mark.parametrize(
    ("label", "params", "expected"), SETTINGS_VECTORS, ids=[v[0] for v in SETTINGS_VECTORS]
)
def test_settings_tlvs(label: str, params: bytes, expected: dict[int, tuple[int, ...]]) -> None:
    assert parse_pmd_settings(params) == expected


def test_settings_tlv_errors() -> None:
    for bad in (h("FF FF FF"), h("00"), h("00 02 34 00"), h("00 01 34 00 00 01 34 00")):
        with pytest.raises(FrameError):
            parse_pmd_settings(bad)


def test_request_builders() -> None:
    assert build_get_settings_request() == h("01 02")  # C1 VENDOR-DOC
    assert build_stop_request() == h("03 02")  # C8 VENDOR-DOC
    # C4 VENDOR-DOC: H10 start, TLVs in the document's order (range, rate, resolution).
    assert build_start_request({2: 8, 0: 200, 1: 16}) == h(
        "02 02 02 01 08 00 00 01 C8 00 01 01 10 00"
    )
    # C6 VENDOR-DOC: Verity start; one-byte CHANNELS.
    assert build_start_request({0: 52, 1: 16, 2: 8, 4: 3}) == h(
        "02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"
    )
    assert build_sdk_mode_request(True) == h("02 09")
    assert build_sdk_mode_request(False) == h("03 09")
    with pytest.raises(ValueError):
        build_start_request({5: 1})


def test_choose_settings_round_trip_to_vendor_requests() -> None:
    # Verity offers exactly one of each: the chosen start is byte-for-byte C6.
    chosen = choose_acc_settings(parse_pmd_settings(C3[5:]))
    assert build_start_request(chosen) == h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    h10 = choose_acc_settings(parse_pmd_settings(C2[5:]), preferred_rate_hz=200)
    assert h10 == {0: 200, 1: 16, 2: 8}
    assert choose_acc_settings(parse_pmd_settings(C2[5:]), preferred_rate_hz=50) == {
        0: 50,
        1: 16,
        2: 8,
    }
    # Nothing at or above the wish: the highest offered.
    assert choose_acc_settings({0: (25, 50), 2: (2, 4)}, 100, 8) == {0: 50, 2: 4}


def test_start_response_factor() -> None:
    factor = parse_start_response_factor(parse_cp_response(C7).parameters)
    assert factor == pytest.approx(0.000244, rel=1e-3)
    assert factor == struct.unpack("<f", h("40 DA 7F 39"))[0]
    assert parse_start_response_factor(parse_cp_response(C5).parameters) is None
    assert parse_start_response_factor(parse_cp_response(C7B).parameters) is None


def test_multi_part_response_and_device_stop() -> None:
    assembler = PmdResponseAssembler()
    assert assembler.feed(h("F0 01 02 00 01 00 04 19 00 32 00")) is None
    joined = assembler.feed(h("F0 01 02 00 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"))
    assert isinstance(joined, PmdControlPointResponse)
    assert joined.parameters == C2[5:] and not joined.more
    assert parse_cp_indication(h("01 02")) == PmdMeasurementStopped((2,))
    assert assembler.feed(h("01 02 00")) == PmdMeasurementStopped((2, 0))


def test_feature_read() -> None:
    # VENDOR-DOC: Verity Sense; CAPTURE issue #360: H10.
    verity = h("0F 6E 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")
    h10 = h("0F 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")
    assert parse_pmd_features(verity) == {1, 2, 3, 5, 6}
    assert parse_pmd_features(h10) == {0, 2}


# -- Advertisement matching ------------------------------------------------------------------------

ADVERTISEMENTS = [
    ("Polar H10 12345678", [], {0x006B: b"\x01"}, "polar-h10"),
    ("Polar Sense 99AABBCC", ["0000180d-0000-1000-8000-00805f9b34fb"], {}, "polar-verity"),
    ("Polar OH1 55667788", [], {}, "polar-oh1"),
    ("Polar 360 AABBCCDD", [], {0x006B: b""}, "polar-360"),
    ("Polar Vantage V2 1A2B3C4D", [], {0x006B: b""}, None),  # a watch without PMD ACC
    (None, [], {0x006B: b"\x00"}, None),  # model unknown without the scan response
    ("Polar H100", [], {}, None),
]


@pytest.mark.parametrize(("name", "uuids", "mfr", "expected"), ADVERTISEMENTS)
def test_match_advertisement(
    name: str | None, uuids: list[str], mfr: dict[int, bytes], expected: str | None
) -> None:
    profile = match_advertisement(name, uuids, mfr)
    assert (profile.id if profile else None) == expected


def test_profile_fields() -> None:
    verity = PROFILES["polar-verity"]
    assert verity.data_uuid == PMD_DATA_UUID == "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
    assert verity.command_uuid == PMD_CP_UUID == "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
    assert verity.service_uuid == "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
    assert verity.nominal_rate_hz == 52
    assert [w.data for w in verity.start_writes] == [
        h("01 02"),
        h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"),
    ]
    assert [w.data for w in verity.stop_writes] == [h("03 02")]


# -- Session against a fake client ---------------------------------------------------------------


class FakePolar:
    """Answers CP writes with scripted indications, like a band."""

    def __init__(self, replies: dict[bytes, list[bytes]]) -> None:
        self.replies = replies
        self.writes: list[bytes] = []
        self.callbacks: dict[str, Callable[[Any, bytearray], None]] = {}
        self.stopped: list[str] = []

    async def write_gatt_char(self, char: str, data: bytes, response: bool | None = None) -> None:
        assert char == PMD_CP_UUID and response is True
        self.writes.append(bytes(data))
        for reply in self.replies.get(bytes(data), []):
            asyncio.get_running_loop().call_soon(
                self.callbacks[PMD_CP_UUID], None, bytearray(reply)
            )

    async def read_gatt_char(self, char: str) -> bytearray:
        raise AssertionError("the CP must not be read for responses")

    async def start_notify(self, char: str, callback: Callable[[Any, bytearray], None]) -> None:
        self.callbacks[char] = callback

    async def stop_notify(self, char: str) -> None:
        self.stopped.append(char)


def test_start_stop_verity_with_fake_client() -> None:
    c6 = h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    fake = FakePolar({h("01 02"): [C3], c6: [C7], h("03 02"): [C8_RESPONSE]})
    received: list[bytes] = []
    device_stops: list[bool] = []

    async def run() -> None:
        profile = PROFILES["polar-verity"]
        started = await profile.start(fake, received.append, lambda: device_stops.append(True))
        assert list(fake.callbacks) == [PMD_CP_UUID, PMD_DATA_UUID]  # CP indications first
        assert fake.writes == [h("01 02"), c6]
        assert started.sample_rate_hz == 52
        fake.callbacks[PMD_DATA_UUID](None, bytearray(V2))
        frames = started.decoder.feed(received[0])
        assert frames[0].xyz[0, 0] == pytest.approx(1905 * struct.unpack("<f", h("40 DA 7F 39"))[0])
        fake.callbacks[PMD_CP_UUID](None, bytearray(h("01 02")))
        assert device_stops == [True]
        await profile.stop(fake)
        assert fake.writes[-1] == h("03 02")
        assert fake.stopped == [PMD_DATA_UUID, PMD_CP_UUID]

    asyncio.run(run())


def test_start_refused_and_already_running() -> None:
    start = h("02 02 00 01 32 00 01 01 10 00 02 01 08 00")
    refused = FakePolar({h("01 02"): [C2], start: [h("F0 02 02 05 00")]})
    with pytest.raises(ProfileError, match="invalid parameter"):
        asyncio.run(PROFILES["polar-h10"].start(refused, lambda _d: None))

    class Restarting(FakePolar):
        starts = 0

        async def write_gatt_char(
            self, char: str, data: bytes, response: bool | None = None
        ) -> None:
            if data == start:
                Restarting.starts += 1
                self.replies[start] = [h("F0 02 02 06 00") if self.starts == 1 else C5]
            await super().write_gatt_char(char, data, response)

    fake = Restarting({h("01 02"): [C2], h("03 02"): [C8_RESPONSE]})
    started = asyncio.run(PROFILES["polar-h10"].start(fake, lambda _d: None))
    assert fake.writes == [h("01 02"), start, h("03 02"), start]
    assert started.sample_rate_hz == 50


def test_start_times_out_without_indication() -> None:
    from tracker.devices.polar import _cp_request

    with pytest.raises(ProfileError, match="no PMD response"):
        asyncio.run(_cp_request(FakePolar({}), asyncio.Queue(), h("01 02"), timeout_s=0.05))


# -- Delta compression: an independent scalar encoder for round trips ------------------------------


def encode_delta_frame(samples: np.ndarray, widths: list[tuple[int, int]], t_ns: int = 0) -> bytes:
    """Reference + blocks of (W, N); a plain bit-by-bit writer, LSB first."""
    out = bytearray([2]) + t_ns.to_bytes(8, "little") + bytes([0x81])
    out += struct.pack("<3h", *samples[0])
    i = 1
    for width, count in widths:
        bits: list[int] = []
        for s in range(i, i + count):
            for c in range(3):
                d = int(samples[s, c] - samples[s - 1, c])
                bits.extend((d >> b) & 1 for b in range(width))
        i += count
        data = bytearray((len(bits) + 7) // 8)
        for k, bit in enumerate(bits):
            data[k // 8] |= bit << (k % 8)
        out += bytes([width, count]) + data
    return bytes(out)


def test_constructed_edge_widths() -> None:
    # CONSTRUCTED: W = 1 deltas are two's complement (0 / -1), W = 0 means zero deltas.
    samples = np.array([[5, -5, 1000], [4, -6, 999], [4, -6, 999], [4, -6, 999], [3, -6, 998]])
    frame = encode_delta_frame(samples, [(1, 1), (0, 2), (1, 1)])
    _, raw = decode_pmd_acc_samples(frame)
    assert raw.tolist() == samples.tolist()


@st.composite
def delta_streams(draw: st.DrawFn) -> tuple[np.ndarray, list[tuple[int, int]]]:
    blocks = draw(st.lists(st.tuples(st.integers(0, 17), st.integers(0, 20)), max_size=4))
    rows = [np.array(draw(st.tuples(*[st.integers(-32768, 32767)] * 3)))]
    for width, count in blocks:
        lo, hi = (0, 0) if width == 0 else (-(1 << (width - 1)), (1 << (width - 1)) - 1)
        for _ in range(count):
            rows.append(rows[-1] + np.array(draw(st.tuples(*[st.integers(lo, hi)] * 3))))
    return np.array(rows, dtype=np.int64), blocks


@settings(max_examples=300, deadline=None)
@given(delta_streams())
def test_delta_round_trip(case: tuple[np.ndarray, list[tuple[int, int]]]) -> None:
    samples, blocks = case
    frame = encode_delta_frame(samples, blocks)
    if samples.min() < -32768 or samples.max() > 32767:
        # Deltas that walk out of the 16-bit range can only come from corruption.
        with pytest.raises(FrameError, match="16-bit"):
            decode_pmd_acc_samples(frame)
        return
    _, raw = decode_pmd_acc_samples(frame)
    assert raw.tolist() == samples.tolist()


# -- Fuzz: only FrameError may escape -------------------------------------------------------------

VALID = [V1, V2, V3, V4, V6]


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from(VALID)))
    action = draw(st.sampled_from(["truncate", "flip", "extend", "random"]))
    if action == "truncate":
        return bytes(frame[: draw(st.integers(0, len(frame) - 1))])
    if action == "flip":
        for _ in range(draw(st.integers(1, 8))):
            k = draw(st.integers(0, len(frame) * 8 - 1))
            frame[k // 8] ^= 1 << (k % 8)
        return bytes(frame)
    if action == "extend":
        return bytes(frame) + draw(st.binary(min_size=1, max_size=40))
    return draw(st.binary(max_size=260))


@settings(max_examples=300, deadline=None)
@given(mutated_frames(), st.sampled_from([None, 2.44e-4, 1.0]))
def test_fuzz_only_frame_error_escapes(data: bytes, factor: float | None) -> None:
    try:
        frame = decode_pmd_acc_frame(data, factor)
    except FrameError:
        return
    assert frame.xyz.dtype == np.float32 and frame.xyz.ndim == 2 and frame.xyz.shape[1] == 3
    assert frame.xyz.shape[0] >= 1 and np.isfinite(frame.xyz).all()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz_cp_parsers(data: bytes) -> None:
    for parse in (parse_cp_indication, parse_pmd_settings, parse_pmd_features):
        with contextlib.suppress(FrameError):
            parse(data)
    with contextlib.suppress(FrameError):
        parse_start_response_factor(data)


def test_wrong_measurement_type_and_frame_type() -> None:
    ecg = bytes([0]) + V1[1:]
    with pytest.raises(FrameError, match="not an ACC frame"):
        decode_pmd_acc_frame(ecg)
    with pytest.raises(FrameError, match="frame type"):
        decode_pmd_acc_frame(V1[:9] + b"\x03" + V1[10:])
    with pytest.raises(FrameError, match="whole"):
        decode_pmd_acc_frame(V1[:-1])
    with pytest.raises(FrameError, match="dangling"):
        decode_pmd_acc_frame(V6 + b"\x00")
    with pytest.raises(FrameError, match="width"):
        decode_pmd_acc_frame(V3[:16] + b"\x21\x00")


# -- Heart Rate Measurement (SIG 0x2A37): the H10's skin-contact bit as a wear hint ---------------

# (label, bytes, expected)
HR_VECTORS = [
    # CAPTURE: Polar H7 via gatttool (cal-id/Polar-H7-Pi README).
    ("CAPTURE H7", h("16 3C 11 04"), HeartRateMeasurement(60, True, True, None, (1041 / 1024,))),
    # SDK-TEST: BleHrClientTest.
    ("SDK-TEST uint16", h("01 80 80"), HeartRateMeasurement(32896, False, False, None, ())),
    ("SDK-TEST contact", h("06 00"), HeartRateMeasurement(0, True, True, None, ())),
    ("SDK-TEST no contact", h("04 00"), HeartRateMeasurement(0, True, False, None, ())),
    # CONSTRUCTED: energy expended plus two RR intervals.
    (
        "CONSTRUCTED energy+RR",
        h("18 48 10 00 00 04 00 02"),
        HeartRateMeasurement(72, False, False, 16, (1.0, 0.5)),
    ),
]


@pytest.mark.parametrize(("label", "data", "expected"), HR_VECTORS, ids=[v[0] for v in HR_VECTORS])
def test_heart_rate_measurement(label: str, data: bytes, expected: HeartRateMeasurement) -> None:
    parsed = parse_heart_rate_measurement(data)
    assert parsed == expected
    if label == "CAPTURE H7":
        assert parsed.rr_intervals_s[0] * 1000 == pytest.approx(1016.6, abs=0.05)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12))
def test_fuzz_heart_rate(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        parse_heart_rate_measurement(data)

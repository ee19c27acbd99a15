"""RTCP receiver reports, without sockets: loss, the extended sequence and jitter."""

from __future__ import annotations

import struct

from telephony.rtp.rtcp import ReceptionStats

MS = 1_000_000


def fields(report: bytes) -> dict[str, int]:
    (first, kind, length, own, source, loss, highest, jitter, lsr, dlsr) = struct.unpack(
        "!BBHIIIIIII", report
    )
    assert lsr == dlsr == 0 and own == 99
    return {
        "count": first & 0x1F,
        "kind": kind,
        "length": length,
        "source": source,
        "fraction": loss >> 24,
        "cumulative": loss & 0xFFFFFF,
        "highest": highest,
        "jitter": jitter,
    }


def test_loss_and_the_extended_sequence_across_the_wrap() -> None:
    stats = ReceptionStats()
    sequences = [65530 + i for i in range(10) if i != 3]  # 10 sent, one lost, wraps at 65536
    for index, seq in enumerate(sequences):
        stats.on_packet(7, seq & 0xFFFF, seq * 160, index * 20 * MS)
    report = fields(stats.receiver_report(own_ssrc=99))
    assert report["kind"] == 201 and report["count"] == 1 and report["length"] == 7
    assert report["source"] == 7 and report["cumulative"] == 1
    assert report["fraction"] == (1 << 8) // 10
    assert report["highest"] == 65539  # one cycle + 3
    again = fields(stats.receiver_report(own_ssrc=99))  # nothing new: no loss in the interval
    assert again["fraction"] == 0 and again["cumulative"] == 1


def test_jitter_grows_with_uneven_arrivals_and_stays_zero_for_even_ones() -> None:
    even, uneven = ReceptionStats(), ReceptionStats()
    for i in range(50):
        even.on_packet(1, i, i * 160, i * 20 * MS)
        uneven.on_packet(1, i, i * 160, (i * 20 + (15 if i % 2 else 0)) * MS)
    assert even.jitter == 0
    assert 50 < uneven.jitter < 130  # 15 ms swings = 120 timestamp units at 8 kHz


def test_a_report_before_any_rtp_is_an_empty_rr() -> None:
    assert len(ReceptionStats().receiver_report(own_ssrc=1)) == 8

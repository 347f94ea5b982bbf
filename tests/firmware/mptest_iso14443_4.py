# ISO 14443-4 (T=CL) reader side: ATS, chaining both ways, block numbers, recovery, WTX.
from card_peer_tcl import PICC, ScriptedFrames
from fake_buses import h

from reader import errors as driver_errors
from reader.protocols.iso14443_4 import BAD_WTX, NO_ATS, RETRIES, TCL, TCLError, fwt_us, parse_ats

ATS = "05 78 80 70 02"      # FSCI 8 (256), TB FWI 7 SFGI 0, TC CID supported


def active(steps, fsdi=8):
    frames = ScriptedFrames([("E0 %X0" % fsdi, ATS)] + steps)
    frames.fsdi = fsdi
    tcl = TCL(frames)
    tcl.activate()
    return tcl, frames


def test_parse_ats_health_card_sample_and_defaults():
    a = parse_ats(h("10 78 80 90 02 20 90 00 00 00 00 00 86 12 34 56"))
    assert a.fsci == 8 and a.fsc == 256 and a.ta == 0x80 and a.fwi == 9 and a.sfgi == 0
    assert a.cid and not a.nad and a.historical == h("20 90 00 00 00 00 00 86 12 34 56")
    d = parse_ats(h("01"))
    assert d.fsc == 32 and d.fwi == 4 and d.cid and d.historical == b""
    t = parse_ats(h("03 25 B3"))               # TB only: FWI 11, SFGI 3; FSCI 5 -> 64
    assert t.fsc == 64 and t.fwi == 11 and t.sfgi == 3 and t.sfgt_us == fwt_us(3)


def test_parse_ats_rejects_malformed():
    for bad in ("", "05 78 80", "03 70 80", "02 F0"):
        try:
            parse_ats(h(bad))
        except TCLError as e:
            assert "ATS" in str(e)
        else:
            raise AssertionError(bad)


def test_fwt():
    assert fwt_us(0) == 302 and fwt_us(4) == 4833
    assert 4947000 < fwt_us(14) < 4951000


def test_rats_and_single_block_exchange_golden():
    tcl, frames = active([("02 00 A4 00 00 02 DD F1", "02 90 00"),
                          ("03 00 B2 39 00 05", "03 39 03 34 31 00 90 00")])
    data, sw = tcl.transceive(h("00 A4 00 00 02 DD F1"))
    assert sw == 0x9000 and len(data) == 0
    data, sw = tcl.transceive(h("00 B2 39 00 05"))
    assert bytes(data) == h("39 03 34 31 00")
    frames.done()
    assert frames.timeouts[1] == fwt_us(7) + 3625


def test_rats_retried_once_then_no_ats():
    frames = ScriptedFrames([("E0 80", "timeout"), ("E0 80", "timeout")])
    try:
        TCL(frames).activate()
    except TCLError as e:
        assert e.code == NO_ATS and e.kind == driver_errors.CARD_GONE
    else:
        raise AssertionError("no ATS accepted")


def test_timeout_nak_then_card_resends_answer():
    tcl, frames = active([("02 00 84 00 00 08", "timeout"),
                          ("B2", "02 11 22 33 44 55 66 77 88 90 00")])
    data, sw = tcl.transceive(h("00 84 00 00 08"))
    assert bytes(data) == h("11 22 33 44 55 66 77 88") and sw == 0x9000
    frames.done()


def test_nak_answered_by_ack_other_block_retransmits_iblock():
    tcl, frames = active([("02 00 84 00 00 08", "crc"),
                          ("B2", "A3"),                       # card never got it: rule 6
                          ("02 00 84 00 00 08", "02 90 00")])
    assert tcl.transceive(h("00 84 00 00 08"))[1] == 0x9000
    frames.done()


def test_bounded_retries_then_card_gone():
    tcl, frames = active([("02 00 84 00 00 08", "timeout"), ("B2", "timeout"), ("B2", "timeout")])
    try:
        tcl.transceive(h("00 84 00 00 08"))
    except TCLError as e:
        assert e.code == RETRIES and e.kind == driver_errors.CARD_GONE
    else:
        raise AssertionError("removal not reported")
    frames.done()


def test_wtx_is_echoed_and_extends_the_wait():
    tcl, frames = active([("02 80 FA 00 00 10" + " 00" * 16, "F2 05"),
                          ("F2 05", "02 90 00")])
    assert tcl.transceive(h("80 FA 00 00 10" + " 00" * 16)) is not None
    assert frames.timeouts[-1] == fwt_us(7) * 5 + 3625 and tcl.wtx_count == 1


def test_wtx_out_of_range_is_a_protocol_error():
    tcl, frames = active([("02 00 84 00 00 08", "F2 00")])
    try:
        tcl.transceive(h("00 84 00 00 08"))
    except TCLError as e:
        assert e.code == BAD_WTX and e.kind == driver_errors.PROTOCOL
    else:
        raise AssertionError("WTXM 0 accepted")


def test_chaining_both_ways_with_small_fsc_and_fsd():
    # FSC 16 (FSCI 0): 13 INF bytes per block; FSD 16 from the transceiver (FSDI 0)
    frames = ScriptedFrames([("E0 00", "02 00"),
                             ("12 00 D6 00 00 0A 01 02 03 04 05 06 07 08", "A2"),
                             ("03 09 0A", "13 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D"),
                             ("A2", "02 0E 90 00")])
    frames.fsdi = 0
    tcl = TCL(frames)
    tcl.activate()
    data, sw = tcl.transceive(h("00 D6 00 00 0A 01 02 03 04 05 06 07 08 09 0A"))
    assert sw == 0x9000 and bytes(data) == h("01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E")
    frames.done()


def test_apdus_of_1_to_261_bytes_against_a_picc_model():
    for fsdi, fsci, max_frame in ((8, 8, 256), (5, 8, 64), (8, 2, 256), (2, 5, 64)):
        card = PICC(ats=bytes((5, 0x70 | fsci, 0x80, 0x70, 0x02)), fsdi=fsdi,
                    max_frame=max_frame)
        tcl = TCL(card, max_response=300)
        tcl.activate()
        for size in (1, 2, 5, 13, 29, 60, 61, 62, 63, 64, 127, 128, 250, 254, 255, 256, 261):
            apdu = bytes((i * 5 + size) & 0xFF for i in range(size))
            data, sw = tcl.transceive(apdu)
            assert sw == 0x9000 and bytes(data) == bytes(reversed(apdu)), (fsdi, fsci, size)


def test_lost_frames_during_chaining_recover():
    card = PICC(fsdi=5, max_frame=64)
    tcl = TCL(card, max_response=300)
    tcl.activate()
    card.lose_request = {3, 9}           # a chained I-block and a later R(ACK) never arrive
    card.lose_answer = {5, 12}           # the card's R(ACK) / an I-block of its answer lost
    apdu = bytes(range(200))
    data, sw = tcl.transceive(apdu)
    assert sw == 0x9000 and bytes(data) == bytes(reversed(apdu))
    data, sw = tcl.transceive(h("00 84 00 00 08"))      # block numbers still in step
    assert bytes(data) == h("08 00 00 84 00")


def test_wtx_with_picc_model_and_presence_and_deselect():
    card = PICC()
    tcl = TCL(card)
    tcl.activate()
    card.wtx_first = 3
    assert bytes(tcl.transceive(h("00 84 00 00 08"))[0]) == h("08 00 00 84 00")
    assert tcl.present()
    assert bytes(tcl.transceive(h("00 84 00 00 04"))[0]) == h("04 00 00 84 00")
    assert tcl.deselect() and card.frames[-1] == h("C2")
    assert not tcl.present()


def test_card_removed_mid_session():
    card = PICC()
    tcl = TCL(card)
    tcl.activate()
    card.present = False
    assert not tcl.present()
    try:
        tcl.transceive(h("00 84 00 00 08"))
    except TCLError as e:
        assert e.kind == driver_errors.CARD_GONE
    else:
        raise AssertionError("removal not reported")

"""The SAM slot: ATR on reset, PPS, T=0 transport, wrong baud, faults, pacing.

A stand-in APDU-level SAM answers here; test_samslot_real.py drives the project's SAM.
"""

import time

import pytest
from support.board_wire import Wire

from hcterm.emulator.samslot import (
    AtrError,
    SamFaults,
    SamSlot,
    inverse_byte,
    parse_atr,
    parse_fault,
    pps_answer,
    pps_request,
)
from hcterm.emulator.wire_timing import WireTiming, garble

SAM_0015 = bytes.fromhex("0102030405060708090A 01 02 03 6F")  # serial, version, type, cmds, FCI
CRYPTOGRAM = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
# TS 3B, T0 16 (TA1 + 6 historical), TA1 18 (Fi 372, Di 12), historical "HCSAM1"
ATR = bytes.fromhex("3B 16 18 48 43 53 41 4D 31")


class StandInSam:
    """Just enough APDU-level SAM: select, read 0015, 80FA encrypt with 61xx, GET RESPONSE.

    `t0_aware=False` answers a case-4 command with data + 9000 (as an APDU-level card
    would over T=1), so the slot's own 61xx/GET RESPONSE mapping is exercised.
    """

    def __init__(self, atr=ATR, t0_aware=True):
        self.atr = atr
        self.t0_aware = t0_aware
        self.seen = []
        self._out = b""

    def process(self, apdu):
        self.seen.append(apdu)
        head = apdu[:4]
        if head == bytes.fromhex("00A40000"):
            return b"\x90\x00" if apdu[5:] in (b"\x3F\x00", b"\xDF\x01") else b"\x6A\x82"
        if head == bytes.fromhex("00B00000"):
            le = apdu[4] or 256
            return SAM_0015 + b"\x90\x00" if le == len(SAM_0015) else b"\x6C\x0E"
        if head == bytes.fromhex("80FA0000"):
            if not self.t0_aware:
                return CRYPTOGRAM + b"\x90\x00"
            self._out = CRYPTOGRAM
            return b"\x61\x10"
        if head == bytes.fromhex("00C00000") and self._out:
            out, self._out = self._out, b""
            return out + b"\x90\x00"
        if apdu[1] == 0x84:
            return bytes(range(8))[: apdu[4]] + b"\x90\x00"
        return b"\x6D\x00"


def slot_and_wire(sam=None, **kw):
    slot = SamSlot(sam or StandInSam(), **kw)
    return slot, Wire(slot)


def exchange(slot, wire, data, n, timeout=1.0):
    slot.on_receive(bytes.fromhex(data) if isinstance(data, str) else data)
    return wire.read(n, timeout)


# -- ATR and reset --------------------------------------------------------------------------
def test_rst_release_sends_the_atr_at_9600():
    slot, wire = slot_and_wire()
    assert slot.baudrate == 9600
    slot.on_line("rst", 0)
    assert wire.read_all() == b""
    slot.on_line("rst", 1)
    assert wire.read(len(ATR)) == ATR
    slot.on_line("rst", 1)  # no edge: nothing again
    assert wire.read_all() == b""


def test_reset_method_equals_the_line_and_input_before_reset_is_ignored():
    slot, wire = slot_and_wire()
    slot.on_receive(bytes.fromhex("00B000000E"))
    assert wire.read_all() == b""
    slot.reset()
    assert wire.read(len(ATR)) == ATR
    slot.reset()
    assert wire.read(len(ATR)) == ATR


def test_parse_atr_direct_t0_only():
    atr = parse_atr(ATR)
    assert (atr.fi, atr.di, atr.protocols, atr.tck) == (372, 12, (0,), None)
    assert atr.historical == b"HCSAM1" and not atr.inverse and not atr.specific_mode


def test_parse_atr_with_tck_and_specific_mode():
    # TS 3B, T0 D3 (TA1 TC1 TD1, 3 hist), TA1 96, TC1 02, TD1 10 (TA2 follows, T=0),
    # TA2 00 (specific mode) -- only T=0 is offered, so no TCK.
    atr = parse_atr(bytes.fromhex("3B D3 96 02 10 00 41 42 43"))
    assert (atr.fi, atr.di, atr.extra_guard, atr.specific_mode) == (512, 32, 2, True)
    # T=0 and T=1 offered: TCK present and checked.
    body = bytes.fromhex("3B 80 80 01")
    tck = 0x80 ^ 0x80 ^ 0x01
    assert parse_atr(body + bytes((tck,))).tck == tck
    with pytest.raises(AtrError, match="TCK 00 wrong"):
        parse_atr(body + b"\x00")


@pytest.mark.parametrize("atr, message", [
    ("3A 16 18 48 43 53 41 4D 31", "TS is 3A"),
    ("3B", "truncated: 1 byte"),
    ("3B 16", "truncated in TA1"),
    ("3B 16 18 48 43", "6 historical bytes announced, 2 left"),
    ("3B 80 01", "TCK missing"),
    ("3B 80 81", "truncated in TD2"),
    ("3B 16 18 48 43 53 41 4D 31 00", "1 extra byte"),
])
def test_parse_atr_rejects(atr, message):
    with pytest.raises(AtrError, match=message):
        parse_atr(bytes.fromhex(atr))


def test_inverse_convention_card_sends_03_first():
    atr = bytes.fromhex("3F 11 18 00")
    assert inverse_byte(0x3F) == 0x03
    slot, wire = slot_and_wire(StandInSam(atr=atr))
    slot.reset()
    assert wire.read(4) == bytes(inverse_byte(b) for b in atr)
    header = bytes(inverse_byte(b) for b in bytes.fromhex("00A4000002"))
    assert exchange(slot, wire, header, 1) == bytes((inverse_byte(0xA4),))


# -- PPS --------------------------------------------------------------------------------------
def test_pps_372_12_echoed_then_115200():
    slot, wire = slot_and_wire()
    slot.reset()
    wire.read(len(ATR))
    assert pps_request(0x18) == bytes.fromhex("FF 10 18 F7")
    assert exchange(slot, wire, "FF1018F7", 4) == bytes.fromhex("FF1018F7")
    assert slot.baudrate == 115200
    assert exchange(slot, wire, "00B000000E", 17) == b"\xB0" + SAM_0015 + b"\x90\x00"


def test_pps_to_the_default_rate_is_accepted():
    slot, wire = slot_and_wire()
    slot.reset()
    wire.read(len(ATR))
    assert exchange(slot, wire, "FF 10 11 FE", 4) == bytes.fromhex("FF1011FE")
    assert slot.baudrate == 9600


@pytest.mark.parametrize("request_hex, why", [
    ("FF 10 13 FC", "Fi/Di 372/4 is not TA1 (18)"),
    ("FF 10 18 00", "PCK wrong"),
    ("FF 11 18 F6", "T=1 not offered"),
])
def test_refused_pps_leaves_the_card_mute_until_reset(request_hex, why):
    slot, wire = slot_and_wire()
    slot.reset()
    wire.read(len(ATR))
    slot.on_receive(bytes.fromhex(request_hex))
    slot.on_receive(bytes.fromhex("00B000000E"))
    assert wire.read(1, timeout=0.05) == b"", why
    assert slot.baudrate == 9600
    slot.reset()
    assert wire.read(len(ATR)) == ATR
    assert exchange(slot, wire, "00B000000E", 17)[:1] == b"\xB0"


def test_pps2_is_dropped_from_the_answer():
    request = bytes.fromhex("FF 30 18 00")
    request += bytes((0xFF ^ 0x30 ^ 0x18 ^ 0x00,))
    answer = bytes.fromhex("FF 10 18 F7")
    assert pps_answer(request, parse_atr(ATR)) == answer
    slot, wire = slot_and_wire()
    slot.reset()
    wire.read(len(ATR))
    assert exchange(slot, wire, request, 4) == answer


def test_specific_mode_card_refuses_pps():
    atr = parse_atr(bytes.fromhex("3B D3 96 02 10 00 41 42 43"))
    assert pps_answer(pps_request(0x96), atr) is None


# -- T=0 --------------------------------------------------------------------------------------
def ready_slot(sam=None, **kw):
    slot, wire = slot_and_wire(sam, **kw)
    slot.reset()
    wire.read(len((sam or StandInSam()).atr))
    return slot, wire


def test_case3_select_ack_then_status():
    sam = StandInSam()
    slot, wire = ready_slot(sam)
    assert exchange(slot, wire, "00A4000002", 1) == b"\xA4"
    assert exchange(slot, wire, "DF01", 2) == b"\x90\x00"
    assert sam.seen[-1] == bytes.fromhex("00A4000002DF01")


def test_case2_read_binary_ins_data_status_and_6cxx():
    sam = StandInSam()
    slot, wire = ready_slot(sam)
    assert exchange(slot, wire, "00B000000E", 17) == b"\xB0" + SAM_0015 + b"\x90\x00"
    assert sam.seen[-1] == bytes.fromhex("00B000000E")
    assert exchange(slot, wire, "00B0000010", 2) == b"\x6C\x0E"


def test_case2_shorter_data_than_le_becomes_6cxx():
    slot, wire = ready_slot()
    assert exchange(slot, wire, "0084000010", 2) == b"\x6C\x08"
    assert exchange(slot, wire, "0084000008", 11) == b"\x84" + bytes(range(8)) + b"\x90\x00"


def test_case4_encrypt_61xx_then_get_response_passes_through():
    sam = StandInSam()
    slot, wire = ready_slot(sam)
    assert exchange(slot, wire, "80FA000010", 1) == b"\xFA"
    assert exchange(slot, wire, bytes(16), 2) == b"\x61\x10"
    assert exchange(slot, wire, "00C0000010", 19) == b"\xC0" + CRYPTOGRAM + b"\x90\x00"
    assert sam.seen[-1] == bytes.fromhex("00C0000010")


def test_case4_data_answer_is_mapped_to_61xx_and_served_by_get_response():
    sam = StandInSam(t0_aware=False)
    slot, wire = ready_slot(sam)
    exchange(slot, wire, "80FA000010", 1)
    assert exchange(slot, wire, bytes(16), 2) == b"\x61\x10"
    assert exchange(slot, wire, "00C0000020", 2) == b"\x6C\x10"
    assert exchange(slot, wire, "00C0000008", 11) == b"\xC0" + CRYPTOGRAM[:8] + b"\x61\x08"
    assert exchange(slot, wire, "00C0000008", 11) == b"\xC0" + CRYPTOGRAM[8:] + b"\x90\x00"
    assert sam.seen[-1] == bytes.fromhex("80FA000010") + bytes(16)  # 00C0 never reached it


def test_case1_reaches_the_sam_as_four_bytes():
    sam = StandInSam()
    slot, wire = ready_slot(sam)
    assert exchange(slot, wire, "0044000000", 2) == b"\x6D\x00"
    assert sam.seen[-1] == bytes.fromhex("00440000")


def test_invalid_ins_and_cla_ff():
    sam = StandInSam()
    slot, wire = ready_slot(sam)
    assert exchange(slot, wire, "0060000000", 2) == b"\x6D\x00"
    assert exchange(slot, wire, "0092000000", 2) == b"\x6D\x00"
    assert exchange(slot, wire, "00A4000002", 1) == b"\xA4"  # now FF is data, not PPS
    exchange(slot, wire, "3F00", 2)
    assert exchange(slot, wire, "FFA4000002", 2) == b"\x6E\x00"
    assert len(sam.seen) == 1


def test_header_split_anywhere():
    slot, wire = ready_slot()
    for b in bytes.fromhex("00B000000E"):
        slot.on_receive(bytes((b,)))
    assert wire.read(17) == b"\xB0" + SAM_0015 + b"\x90\x00"


# -- wrong baud -------------------------------------------------------------------------------
def test_host_at_the_wrong_rate_reads_garbage_atr():
    slot, wire = slot_and_wire()
    slot.on_host_baudrate(115200)
    slot.reset()
    got = wire.read(1, timeout=0.05) + wire.read_all()
    assert got == garble(ATR, 9600, 115200, tx_parity=True, tx_stop_bits=2, rx_parity=True)
    assert got != ATR


def test_host_that_forgets_to_follow_the_pps_is_garbled():
    slot, wire = slot_and_wire()
    slot.on_host_baudrate(9600)
    slot.reset()
    assert wire.read(len(ATR)) == ATR
    assert exchange(slot, wire, "FF1018F7", 4) == bytes.fromhex("FF1018F7")
    # the board stays at 9600: its header reaches the card as garbage, no valid answer
    slot.on_receive(bytes.fromhex("00B000000E"))
    assert wire.read(17, timeout=0.05) != b"\xB0" + SAM_0015 + b"\x90\x00"
    wire.read_all()
    slot.on_host_baudrate(115200)
    slot.reset()  # back at 9600 after reset, the board at 115200 now garbles the ATR
    assert wire.read(len(ATR), timeout=0.05) != ATR


def test_host_following_the_pps_works():
    slot, wire = slot_and_wire()
    slot.on_host_baudrate(9600)
    slot.reset()
    wire.read(len(ATR))
    exchange(slot, wire, "FF1018F7", 4)
    slot.on_host_baudrate(115200)
    assert exchange(slot, wire, "00B000000E", 17) == b"\xB0" + SAM_0015 + b"\x90\x00"


# -- faults -----------------------------------------------------------------------------------
def test_fault_mute_no_atr_no_answer():
    slot, wire = slot_and_wire(faults=SamFaults(mute=True))
    slot.reset()
    slot.on_receive(bytes.fromhex("00B000000E"))
    assert wire.read(1, timeout=0.05) == b""


@pytest.mark.parametrize("kind, sent, error", [
    ("ts", bytes.fromhex("3A 16 18 48 43 53 41 4D 31"), "TS is 3A"),
    ("truncated", bytes.fromhex("3B 16 18 48"), "historical"),
    ("tck", ATR + bytes((0x16 ^ 0x18 ^ 0x48 ^ 0x43 ^ 0x53 ^ 0x41 ^ 0x4D ^ 0x31 ^ 0x5A,)),
     "extra byte"),
])
def test_fault_bad_atr(kind, sent, error):
    slot, wire = slot_and_wire(faults=SamFaults(atr=kind))
    slot.reset()
    got = wire.read(len(sent)) + wire.read(1, timeout=0.05)
    assert got == sent
    with pytest.raises(AtrError, match=error):
        parse_atr(got)


def test_fault_bad_tck_flips_a_present_tck():
    atr = bytes.fromhex("3B 80 80 01") + bytes((0x80 ^ 0x80 ^ 0x01,))
    slot, wire = slot_and_wire(StandInSam(atr=atr), faults=SamFaults(atr="tck"))
    slot.reset()
    got = wire.read(5)
    assert got == atr[:-1] + bytes((atr[-1] ^ 0xFF,))
    with pytest.raises(AtrError, match="TCK FE wrong"):
        parse_atr(got)


def test_fault_stuck_after_two_apdus_until_reset():
    slot, wire = ready_slot(faults=SamFaults(stuck_after=2))
    assert exchange(slot, wire, "00B000000E", 17)[:1] == b"\xB0"
    assert exchange(slot, wire, "00B000000E", 17)[:1] == b"\xB0"
    slot.on_receive(bytes.fromhex("00B000000E"))
    assert wire.read(1, timeout=0.05) == b""
    slot.reset()
    assert wire.read(len(ATR)) == ATR
    assert exchange(slot, wire, "00B000000E", 17)[:1] == b"\xB0"


def test_fault_slow_sam_null_storm():
    slot, wire = ready_slot(faults=SamFaults(nulls=5, null_interval=0.01))
    start = time.monotonic()
    got = exchange(slot, wire, "00B000000E", 22)
    assert got == b"\x60" * 5 + b"\xB0" + SAM_0015 + b"\x90\x00"
    assert time.monotonic() - start >= 0.045
    assert exchange(slot, wire, "00A4000002", 1) == b"\xA4"  # ACK comes at once
    assert exchange(slot, wire, "3F00", 7) == b"\x60" * 5 + b"\x90\x00"


def test_parse_fault_specs():
    assert parse_fault("mute") == SamFaults(mute=True)
    assert parse_fault("atr-tck") == SamFaults(atr="tck")
    assert parse_fault("stuck:3") == SamFaults(stuck_after=3)
    assert parse_fault("slow:40") == SamFaults(nulls=40)
    with pytest.raises(ValueError, match="unknown SAM fault 'stuck:x'"):
        parse_fault("stuck:x")
    with pytest.raises(ValueError, match="unknown ATR fault"):
        SamFaults(atr="bogus").apply_to_atr(ATR)


# -- wire timing ------------------------------------------------------------------------------
def test_counters_and_modeled_time_without_pacing():
    model = WireTiming()
    slot, wire = ready_slot(model=model)
    exchange(slot, wire, "00B000000E", 17)
    c = model.counters("sam")
    assert (c.tx_bytes, c.rx_bytes, c.round_trips) == (len(ATR) + 17, 5, 1)
    chars = len(ATR) + 17 + 5
    assert c.modeled_s == pytest.approx(chars * 0.00125 + 0.001 + 5 * 0.00001)


def test_pacing_delivers_at_the_t0_rate():
    model = WireTiming(pacing=True)
    slot, wire = ready_slot(model=model)
    model.reset_counters()
    start = time.monotonic()
    for _ in range(4):  # 4 x (5 + 17) chars at 1.25 ms + 4 x 1.05 ms processing = 114.2 ms
        assert exchange(slot, wire, "00B000000E", 17)[:1] == b"\xB0"
    elapsed = time.monotonic() - start
    modeled = model.counters("sam").modeled_s
    assert modeled == pytest.approx(4 * (22 * 0.00125 + 0.00105))
    assert elapsed == pytest.approx(modeled, rel=0.15)


def test_pps_speeds_up_the_modeled_line():
    model = WireTiming()
    slot, wire = ready_slot(model=model)
    exchange(slot, wire, "FF1018F7", 4)
    assert model.char_time("sam") == pytest.approx(12 / 115200)
    slot.reset()
    assert model.char_time("sam") == pytest.approx(12 / 9600)

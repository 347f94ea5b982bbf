"""libnfc (unmodified, from Debian's libnfc-bin) drives the emulated PN532 over a pty.

Needs the apt packages `libnfc-bin` (nfc-list, libnfc.so.6); the tests skip only when they are
not installed. The APDU test talks to libnfc.so.6 through ctypes: nfc_open, select passive
target (InListPassiveTarget with AutoRATS), transceive bytes (InDataExchange, ISO-DEP done by
the emulated chip).
"""

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import threading
import time

import pytest
from support.required_tools import needs

from hcterm.emulator.pn532_hsu import Pn532Uart
from hcterm.emulator.rf14443 import Picc
from hcterm.sim.ptyserve import PtyPort

NFC_LIST = shutil.which("nfc-list")
NFC_POLL = shutil.which("nfc-poll")
LIBNFC = ctypes.util.find_library("nfc")

UID = bytes.fromhex("04A1B2C3")
ATS = bytes.fromhex("0B788090028073C8211000")
BODY = bytes(i & 0xFF for i in range(250))  # answer of 256 bytes: the card chains it (FSD 256)


class StandInCard:
    """Answers SELECT with 9000 and any other APDU with its header + a long body + 9000."""

    uid = UID
    ats = ATS

    def power_on(self):
        pass

    def process(self, apdu):
        if apdu[:2] == b"\x00\xA4":
            return b"\x90\x00"
        return apdu[:4] + BODY + b"\x90\x00"


@pytest.fixture
def pn532_pty(tmp_path):
    chip = Pn532Uart()
    chip.field.insert(Picc(StandInCard()))
    link = str(tmp_path / "pn532")
    with PtyPort(chip, link=link):
        yield chip, link


@needs(NFC_LIST is not None, "nfc-list not installed (apt-get install libnfc-bin)")
def test_nfc_list_lists_the_card_with_atqa_sak_uid_ats(pn532_pty):
    chip, link = pn532_pty
    env = dict(os.environ, LIBNFC_DEVICE=f"pn532_uart:{link}")
    run = subprocess.run([NFC_LIST], env=env, capture_output=True, text=True, timeout=30)
    out = run.stdout
    assert run.returncode == 0, run.stderr
    assert "1 ISO14443A passive target(s) found" in out
    assert "ATQA (SENS_RES): 00  04" in out
    assert "UID (NFCID1): 04  a1  b2  c3" in out
    assert "SAK (SEL_RES): 20" in out
    assert "ATS: 78  80  90  02  80  73  c8  21  10  00" in out
    # libnfc's start-up and close sequence reached the chip in the order the notes record.
    assert chip.core.history[:4] == [0x14, 0x00, 0x02, 0x12]
    assert chip.core.history[-1] == 0x16  # PowerDown


@needs(NFC_POLL is not None, "nfc-poll not installed (apt-get install libnfc-examples)")
def test_nfc_poll_finds_the_card_through_in_auto_poll_and_sees_it_leave(pn532_pty):
    chip, link = pn532_pty
    env = dict(os.environ, LIBNFC_DEVICE=f"pn532_uart:{link}")
    poll = subprocess.Popen([NFC_POLL], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # nfc-poll's stdout is a pipe (block buffered): watch the chip instead. After the
        # InAutoPoll found the card, libnfc pings it (InCommunicateThru) until it leaves.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and 0x42 not in chip.core.history[
                chip.core.history.index(0x60) if 0x60 in chip.core.history else 0:][1:]:
            time.sleep(0.05)
        chip.field.remove()
        out = poll.communicate(timeout=30)[0]
    finally:
        poll.kill()
    assert poll.returncode == 0
    assert "ISO/IEC 14443A (106 kbps) target:" in out
    assert "UID (NFCID1): 04  a1  b2  c3" in out
    assert "SAK (SEL_RES): 20" in out
    assert "Waiting for card removing...done." in out
    assert 0x60 in chip.core.history  # InAutoPoll, as libnfc polls a PN532


class NfcModulation(ctypes.Structure):
    _fields_ = [("nmt", ctypes.c_int), ("nbr", ctypes.c_int)]


NMT_ISO14443A = 1
NBR_106 = 1


def libnfc_apdu(link, apdu):
    """Open the device with libnfc, select the type A target, exchange one APDU."""
    lib = ctypes.CDLL(LIBNFC)
    lib.nfc_open.restype = ctypes.c_void_p
    lib.nfc_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    for name in ("nfc_initiator_init", "nfc_close"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.nfc_initiator_select_passive_target.argtypes = [
        ctypes.c_void_p, NfcModulation, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    lib.nfc_initiator_transceive_bytes.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
        ctypes.c_int]
    context = ctypes.c_void_p()
    lib.nfc_init(ctypes.byref(context))
    device = lib.nfc_open(context, f"pn532_uart:{link}".encode())
    assert device, "libnfc could not open the emulated PN532"
    try:
        assert lib.nfc_initiator_init(device) == 0
        target = ctypes.create_string_buffer(4096)  # larger than nfc_target
        found = lib.nfc_initiator_select_passive_target(
            device, NfcModulation(NMT_ISO14443A, NBR_106), None, 0, target)
        assert found == 1
        rx = ctypes.create_string_buffer(512)
        n = lib.nfc_initiator_transceive_bytes(device, apdu, len(apdu), rx, len(rx), 2000)
        assert n >= 0, f"nfc_initiator_transceive_bytes failed with {n}"
        return rx.raw[:n]
    finally:
        lib.nfc_close(device)
        lib.nfc_exit(context)


@needs(LIBNFC is not None, "libnfc.so not installed (apt-get install libnfc-bin)")
def test_apdu_through_libnfc_gets_the_cards_answer(pn532_pty):
    chip, link = pn532_pty
    result = {}

    def run():  # in a thread, so a broken exchange fails the test instead of hanging it
        result["answer"] = libnfc_apdu(link, bytes.fromhex("00A4000002DDF1"))
        result["long"] = libnfc_apdu(link, bytes.fromhex("00B2080014"))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "libnfc did not finish within 30 s"
    assert result["answer"] == bytes.fromhex("9000")
    # 256 bytes: two I-blocks on the air, one extended frame from the chip to libnfc.
    assert result["long"] == bytes.fromhex("00B20800") + BODY + b"\x90\x00"
    assert 0x40 in chip.core.history  # InDataExchange carried it


@needs(LIBNFC is not None, "libnfc.so not installed (apt-get install libnfc-bin)")
def test_libnfc_selects_ddf1_on_the_first_sample_card(tmp_path):
    from hcterm.emulator import load_card, samples

    chip = Pn532Uart()
    chip.field.insert(Picc(load_card(samples.paths()[0])))
    link = str(tmp_path / "pn532")
    result = {}
    with PtyPort(chip, link=link):
        worker = threading.Thread(
            target=lambda: result.update(sw=libnfc_apdu(link, bytes.fromhex("00A4000002DDF1"))),
            daemon=True)
        worker.start()
        worker.join(timeout=30)
    assert not worker.is_alive(), "libnfc did not finish within 30 s"
    assert result["sw"] == b"\x90\x00" or result["sw"][0] == 0x61

# The test operator's side of the sim bus, for the sim-board driver tests (mptest_sim_*.py;
# runs inside micropython, talking over the sim bus to the emulator in pytest's process): the
# client of the "bench" UART (its commands: tests/support/emu_driver_benches.py), the sim
# board loader, the golden bytes of sample card 1
# (host/hcterm/emulator/samples/card-01-adult-zhang-wei.json) and the checks every
# contactless chip must pass against it.
import json
import sys
import time

from simhal import UART

ROOT = "../.."    # conftest runs the firmware tests in tests/firmware


def h(text):
    return bytes.fromhex(text.replace(" ", ""))


class BenchError(Exception):
    pass


class Bench:
    """The test operator on UART "bench": bench("tap", "1") -> the answer's "ok" value."""

    def __init__(self):
        self.uart = UART("bench", 115200, timeout=2000, timeout_char=200)
        self._one = bytearray(1)

    def __call__(self, *words):
        self.uart.write((" ".join(words) + "\n").encode())
        line = bytearray()
        deadline = time.ticks_add(time.ticks_ms(), 3000)
        while not line.endswith(b"\n"):
            if self.uart.readinto(self._one):
                line += self._one
            elif time.ticks_diff(deadline, time.ticks_ms()) < 0:
                raise BenchError("bench did not answer %r" % (words,))
        reply = json.loads(line)
        if "error" in reply:
            raise BenchError(reply["error"])
        return reply["ok"]

    def fresh_card(self, reader):
        """Faults cleared, sample card 1 tapped and activated by `reader` -> the Card."""
        self("clear")
        self("tap", "1")
        card = reader.poll()
        check_card(card)
        return card


def load_board(name):
    """Import boards/<name>/board.py, as simboot.py does on the virtual reader."""
    sys.path.insert(0, ROOT + "/boards/" + name)
    import board
    assert board.NAME == name
    return board


# -- sample card 1 ------------------------------------------------------------------------------
UID = h("8A3F21C7")
ATS = h("0D 78 80 70 02 41 01 05 20 19 03 16 01")   # TL 0D, FSCI 8, TA 80, FWI 7, TC 02
ATQA = 0x0004                                         # 4-byte UID
SAK = 0x20                                            # ISO 14443-4 compliant
SELECT_DDF1 = h("00A4000002DDF1")
FCI_DDF1 = h("6F048302DDF1")
SELECT_EF05 = h("00A4000002EF05")
READ_KH = h("00B2080014")                             # record tag 08: card number, Le 20
KH_RECORD = h("0812") + b"410105198503154213"
READ_CERT = h("00B2050000")                           # record tag 05: issuer certificate, Le 00
CERT = h(
    "35F868898DA33DBF42B8FA36CFC2D9312ABF1225F9632D39FEC24A8E88825CC247A4FC287BC4A86F267D"
    "834D34EC7D4F776E23AA77B1C985A2345E1CE74B0963795F7664FD29812CDA3CECCF7F5154365A1A2076"
    "BF6203B877A976635659A2C207C4C576240B2489BAD1AB33B72C9C804A80810BBD7AFA41B963AC8CABDC"
    "67DAB7CCC9172AAC1E6DFD4D2AE391E45F2846049F788DC9E4A3F71B764F55ECCF6998943707C251F4F3"
    "79597A51B62D8E0B61CD8673")


def check_card(card):
    assert card is not None, "sample card 1 did not answer"
    assert card.uid == UID, card.uid
    assert card.atqa == ATQA, card.atqa
    assert card.sak == SAK, card.sak
    assert card.ats == ATS, card.ats


def expect(channel, apdu, data, sw=0x9000):
    got, got_sw = channel.transceive(apdu)
    assert got_sw == sw, "%s -> SW %04X, expected %04X" % (apdu.hex(), got_sw, sw)
    assert bytes(got) == data, "%s -> %s" % (apdu.hex(), bytes(got).hex())


def select_ef05(channel):
    expect(channel, SELECT_DDF1, FCI_DDF1)      # 61 06 + GET RESPONSE
    expect(channel, SELECT_EF05, b"")


def read_card_number(channel):
    """SELECT DDF1 (61 06, GET RESPONSE), SELECT EF05, READ RECORD: 4 APDUs."""
    select_ef05(channel)
    expect(channel, READ_KH, KH_RECORD)


def read_certificate(channel):
    """A 184-byte answer: chained by the card wherever a frame is smaller (RC522: FSD 64)."""
    select_ef05(channel)
    expect(channel, READ_CERT, h("05B4") + CERT)


def update_binary(n):
    """An APDU of n bytes (1..261): UPDATE BINARY with Lc = n - 5 (n = 261: Lc 255 + Le)."""
    apdu = bytearray(b"\x00\xD6\x00\x00")[:n]
    if n == 5:
        apdu.append(0)                                # case 2 form: P3 only
    elif n > 5:
        lc = min(n - 5, 255)
        apdu.append(lc)
        apdu.extend(bytes(i & 0xFF for i in range(lc)))
        if n == 261:
            apdu.append(0)                            # Le
    assert len(apdu) == n
    return apdu


def exchange_lengths(channel, lengths):
    """With EF05 (a record file) selected the card answers every well-formed UPDATE BINARY
    with 6981 (command incompatible with the file structure) and anything shorter than a
    header with 6700: each length crosses the whole path and back."""
    select_ef05(channel)
    for n in lengths:
        expect(channel, update_binary(n), b"", 0x6700 if n < 4 else 0x6981)
    expect(channel, READ_KH, KH_RECORD)               # the session is still in step


def raises(kind, call, *args):
    """Run call(*args); it must raise a ReaderError of `kind`; returns the error."""
    try:
        call(*args)
    except Exception as error:  # noqa: BLE001 - checked below
        if getattr(error, "kind", None) != kind:
            raise
        return error
    raise AssertionError("%r did not raise a %s error" % (call, kind))

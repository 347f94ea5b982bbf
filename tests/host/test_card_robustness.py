"""ISO 7816-4 robustness of the emulated card: every bad APDU gets the right status word."""

import random

import pytest

from hcterm.emulator import load_card, samples

H = bytes.fromhex


@pytest.fixture
def card():
    c = load_card(samples.paths()[0])
    c.process(H("00A4000002DDF1"))
    c.process(H("00A4000002EF05"))
    return c


@pytest.mark.parametrize("apdu, sw", [
    ("00B2", "6700"),                      # shorter than a header
    ("00A40000", "6700"),                  # SELECT without data
    ("00A4000003DDF1", "6700"),            # Lc says 3, 2 bytes follow
    ("00A4000001DD", "6700"),              # FID of one byte
    ("00A4000002DDF10000", "6700"),        # two bytes too many
    ("00A4000002EF09", "6A82"),            # no such file
    ("00A4010002DDF1", "6A86"),            # P1 not supported
    ("00A4040002DDF1", "6A82"),            # by name: nothing has that name
    ("00B2390006", "6C05"),                # wrong Le
    ("00B2390004", "6C05"),
    ("00B23900", "6C05"),                  # no Le at all
    ("00B2080000", "0812343130313035313938353033313534323133" + "9000"),
    ("00B2FF0000", "6A83"),                # no record with that tag
    ("00B20B0400", "6A83"),                # record 11 of 10
    ("00B2010500", "6A86"),                # unsupported P2 mode
    ("00B2082C05", "09033532379000"),      # SFI 5 (EF05) in P2, record 8 = AQM
    ("00B2013C00", "6981"),                # SFI 7 = EF07, the photo: not a record file
    ("00B2014C00", "6A82"),                # SFI 9: no such EF
    ("00B0000002", "6981"),                # READ BINARY on a record file
    ("0084000004", "6C08"),                # challenge length
    ("00840000", "6700"),
    ("0084010008", "6A86"),
    ("0082000411" + "00" * 17, "6984"),    # no challenge
    ("0082000410" + "00" * 16, "6700"),    # wrong Lc
    ("0082009911" + "00" * 17, "6A88"),    # no such key here
    ("00CA000000", "6D00"),                # unknown INS
    ("A0B2390005", "6E00"),                # unknown CLA
    ("80B2390005", "6E00"),                # known INS, wrong CLA for it
    ("00C0000010", "6985"),                # nothing to GET RESPONSE
    ("00DC010418" + "00" * 24, "6982"),    # linear record without secure messaging
    ("84D2010400", "6981"),                # index flag on a record file
    ("0020010003123456", "6A86"),
    ("805E000007123456FF654321", "6A86"),
    ("805E010006123456654321", "6A80"),    # no FF separator
])
def test_status_words(card, apdu, sw):
    assert card.process(H(apdu)) == H(sw)


def test_get_response_wrong_le_keeps_the_data(card):
    assert card.process(H("00A4000002DF01")) == H("6106")
    assert card.process(H("00C0000004")) == H("6C06")
    assert card.process(H("00C0000006")) == H("6F048302DF019000")


def test_read_binary_past_the_end():
    card = load_card(samples.paths()[0])
    card.process(H("00A4000002DDF1"))
    card.process(H("00A4000002EF07"))
    # no IRK yet: access is checked before the range
    assert card.process(H("00B00C0001")) == H("6982")


def test_select_file_of_another_df_is_not_found(card):
    assert card.process(H("00A4000002EE01")) == H("6A82")
    assert card.process(H("00A4000002DF03")) == H("6106")
    assert card.process(H("00A4000002EE01")) == H("9000")
    assert card.process(H("00A4000002DF02")) == H("6106")  # a sibling DF
    assert card.process(H("00A40000023F00")) == H("6106")
    assert card.process(H("00B2390005")) == H("6986")     # no current EF


KNOWN_SW1 = {0x61, 0x62, 0x63, 0x67, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x90}


def test_fuzz_random_apdus_never_raise():
    rng = random.Random(20260522)
    card = load_card(samples.paths()[2], rng=lambda n: bytes(rng.getrandbits(8) for _ in range(n)))
    interesting = [0x00, 0x04, 0x80, 0x84, 0xA0, 0xFF]
    ins = [0xA4, 0xB0, 0xB2, 0x84, 0x82, 0xDC, 0xD2, 0x0C, 0xD6, 0x20, 0x5E, 0x1E, 0x16, 0x18,
           0xC0, 0xCA, 0x00]
    fids = [b"\xDD\xF1", b"\xDF\x01", b"\xDF\x02", b"\xDF\x03", b"\xEF\x05", b"\xEF\x07",
            b"\xEE\x01", b"\xED\x02", b"\x3F\x00"]
    for _ in range(4000):
        kind = rng.random()
        if kind < 0.15:
            apdu = bytes((0x00, 0xA4, 0x00, 0x00, 0x02)) + rng.choice(fids)
        elif kind < 0.6:
            header = bytes((rng.choice(interesting), rng.choice(ins), rng.getrandbits(8),
                            rng.choice((0x00, 0x04, 0x03, rng.getrandbits(8)))))
            tail = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40)))
            apdu = header + tail
        else:
            apdu = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 300)))
        response = card.process(apdu)
        assert len(response) >= 2 and response[-2] in KNOWN_SW1, (apdu.hex(), response.hex())
        if rng.random() < 0.01:
            card.power_on()

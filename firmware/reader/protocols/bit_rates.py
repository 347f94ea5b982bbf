"""ISO/IEC 14443-4 bit rates above 106 kbit/s: what a card's ATS allows (pure).

A rate is a code 0-3: 106, 212, 424, 848 kbit/s (106 << code), the same codes as PPS1's
DSI/DRI and the PN532's InPSL BRit/BRti. TA(1) of the ATS: bit 8 "the same divisor both
ways only", bits 7-5 DS = 8, 4, 2 (card -> reader), bits 3-1 DR = 8, 4, 2 (reader -> card).

    dri, dsi = choose(ats, 3)          # the fastest pair the card allows, up to 848
"""


def ta1(ats):
    """TA(1) of an ATS (TL first), or 0 when the ATS has none (106 kbit/s only)."""
    return ats[2] if ats is not None and len(ats) > 2 and ats[1] & 0x10 else 0


def choose(ats, top=3):
    """-> (DRI, DSI): the fastest codes up to `top` that the card's TA(1) allows each way,
    one code for both when its bit 8 asks for the same divisor; (0, 0) = stay at 106."""
    ta = ta1(ats)
    if ta & 0x80:
        for code in (3, 2, 1):
            if code <= top and ta & (0x08 << code) and ta & (1 << (code - 1)):
                return code, code
        return 0, 0
    dri = dsi = 0
    for code in (1, 2, 3):
        if code <= top:
            if ta & (1 << (code - 1)):
                dri = code
            if ta & (0x08 << code):
                dsi = code
    return dri, dsi

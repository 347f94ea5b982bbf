"""PSAM application (docs/healthcard-app.md, docs/card-crypto.md) over any APDU channel.

The SAM slot's T=0 channel (reader.protocols.apdu.SAMChannel over a powered slot) is the
usual one; GET RESPONSE (61xx) and a wrong Le (6Cxx) are the channel's job. Every status
word other than 9000 raises `HealthCardError` kind `sam` (kinds pin-wrong / pin-blocked for
VERIFY and CHANGE PIN); a mute or broken slot raises the same error kind `sam`, with the
slot's message.

| SAM function                                | method                                  |
|---------------------------------------------|-----------------------------------------|
| 3F00/0015 serial, versions (`00B000000E`)   | `PSAMAdmin.info()` -> dict               |
| 3F00/0016 terminal number (`00B0000006`)    | `PSAMAdmin.terminal_number()` -> 6 bytes |
| DF01/001A key index, ids, dates (`…19`)     | `PSAMAdmin.key_info()` -> dict           |
| DF01/001B issuer certificate (180 B)        | `PSAMAdmin.issuer_certificate()`         |
| DF01/001C SAM certificate (190 B)           | `PSAMAdmin.sam_certificate()`            |
| any EF: select and read its first n bytes   | `read_binary(df, fid, n)`                |
| SELECT DF01                                 | `select_df01()` (after reset, before keys) |
| 0020 VERIFY PIN, 805E CHANGE PIN            | `PSAMAdmin.verify_pin(digits)`, `…change_pin` |
| 80DE diversify (P1 2x one level, 4x two)    | `diversify(key, card_no8, city8, random8)` |
| 80FA 00 00 encrypt, 80FA 05 00 MAC with IV  | `encrypt(data)`, `mac(iv_and_data)`      |
| external-authentication cryptogram          | `cryptogram(key, card_no8, city8, random8, t8)` |

`PSAMAdmin` (reader.cards.psam_admin) adds the SAM's files and PIN for the self-test, tools and
tests; the terminal's taps use `PSAM` only. Results of `encrypt`/`mac` are memoryviews into
the channel's buffer, valid until the next command. `key` is a `healthcard_items.KEYS` tuple
(name, 80DE P1, key id, DF, card ref).
"""

from micropython import const

from reader.errors import ReaderError

_BUF = const(5 + 255)
_ZERO8 = bytes(8)


def _error(code, where, detail):
    """A HealthCardError of kind sam (reader.cards.healthcard_errors is imported when one is
    raised: the PSAM stays in RAM between taps, the card application's errors need not)."""
    from reader.cards.healthcard_errors import SAM, HealthCardError
    return HealthCardError(SAM, code, where, detail)


class PSAM:
    def __init__(self, channel):
        self.channel = channel
        self._buf = bytearray(_BUF)
        self._mv = memoryview(self._buf)
        self._df = None

    # -- commands -------------------------------------------------------------------------
    def _header(self, cla, ins, p1, p2):
        b = self._buf
        b[0] = cla
        b[1] = ins
        b[2] = p1
        b[3] = p2

    def _send(self, n, what, detail="", work=None):
        # the message is formatted only on failure: a good command allocates no text.
        # `work` (a callable: the card's next commands) runs while the SAM works on this one
        # (docs/card-crypto.md, "Overlap"); its error goes on once the SAM has answered.
        apdu = self._mv[0:n]
        if work is not None:
            self._link(apdu, what, detail, True)
            try:
                work()
            except Exception:
                try:
                    self.channel.transceive(apdu)
                except ReaderError:
                    pass
                raise
        data, sw = self._link(apdu, what, detail, False)
        if sw != 0x9000:
            from reader.cards.healthcard_errors import sam_sw_error
            raise sam_sw_error(sw, "PSAM %s%s" % (what, detail))
        return data

    def _link(self, apdu, what, detail, begin):
        try:
            if not begin:
                return self.channel.transceive(apdu)
            self.channel.begin(apdu)
        except ReaderError as error:
            from reader.cards.healthcard_errors import SAM, link_error
            raise link_error(error, "PSAM %s%s" % (what, detail), SAM) from None

    def _command(self, cla, ins, p1, p2, data, what, detail=""):
        """Case 3/4: header, Lc and `data` (any buffer)."""
        n = len(data)
        self._header(cla, ins, p1, p2)
        self._buf[4] = n
        self._buf[5:5 + n] = data
        return self._send(5 + n, what, detail)

    def select(self, fid):
        self._header(0x00, 0xA4, 0x00, 0x00)
        b = self._buf
        b[4] = 2
        b[5] = fid >> 8
        b[6] = fid & 0xFF
        self._send(7, "SELECT %04X" % fid)
        if fid == 0x3F00 or fid == 0xDF01:
            self._df = fid

    def select_df01(self):
        self.select(0xDF01)

    def read_binary(self, df, fid, n):
        """Select `fid` (in MF or DF01) and read its first n bytes -> bytes."""
        if self._df != df:
            self.select(df)
        self.select(fid)
        self._header(0x00, 0xB0, 0x00, 0x00)
        self._buf[4] = n
        data = self._send(5, "READ BINARY %04X" % fid)
        if len(data) != n:
            raise _error(len(data), "PSAM %04X" % fid,
                         "%d bytes read, %d expected" % (len(data), n))
        return bytes(data)

    # -- keys and cipher ----------------------------------------------------------------------
    def diversify(self, key, card_no8, city8, random8, work=None):
        """80DE P1 key-id: cardNo8 | random8 (P1 2x) or cardNo8 | city8 | random8 (P1 4x);
        `work` runs while the SAM diversifies (see `_send`)."""
        if self._df != 0xDF01:
            self.select_df01()
        p1 = key[1]
        self._header(0x80, 0xDE, p1, key[2])
        b = self._buf
        b[5:13] = card_no8
        if p1 >> 4 == 4:
            b[13:21] = city8
            b[21:29] = random8
            b[4] = 0x18
        else:
            b[13:21] = random8
            b[4] = 0x10
        self._send(5 + b[4], "80DE ", key[0], work)

    def encrypt(self, data):
        """80FA 00 00: SM4-ECB under the loaded session key -> memoryview (len(data))."""
        return self._command(0x80, 0xFA, 0x00, 0x00, data, "80FA encrypt")

    def mac(self, iv_and_data):
        """80FA 05 00: 16-byte IV then the padded data -> 4-byte MAC (memoryview)."""
        out = self._command(0x80, 0xFA, 0x05, 0x00, iv_and_data, "80FA MAC")
        if len(out) != 4:
            raise _error(len(out), "PSAM 80FA MAC", "MAC of %d bytes" % len(out))
        return out

    def cryptogram(self, key, card_no8, city8, random8, terminal8, out, work=None):
        """The external-authentication value X = C[0:8] XOR C[8:16], C = 80FA over
        terminal8 | 00×8 under the key diversified with random8; written into out[0:8].
        `work` (a callable) is called once while the SAM runs 80DE and once during 80FA."""
        self.diversify(key, card_no8, city8, random8, work)
        b = self._buf
        self._header(0x80, 0xFA, 0x00, 0x00)
        b[4] = 16
        b[5:13] = terminal8
        b[13:21] = _ZERO8
        c = self._send(21, "80FA ", key[0], work)
        if len(c) != 16:
            raise _error(len(c), "PSAM 80FA", "cryptogram of %d bytes" % len(c))
        for i in range(8):
            out[i] = c[i] ^ c[i + 8]

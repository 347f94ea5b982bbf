"""The emulated Resident Health Card at APDU level (files and APDUs: docs/healthcard-app.md).

Supported (CLA INS): 00A4 SELECT by FID (DF: 61xx + FCI through 00C0), 00C0 GET RESPONSE,
00B2 READ RECORD (P2=00 by tag, P2=04 by number, SFI in P2 b8-b4), 00B0 READ BINARY,
0084 GET CHALLENGE, 0082 EXTERNAL AUTHENTICATE (IRK/UK), 04DC secure UPDATE RECORD,
00DC UPDATE RECORD (cyclic files), 84D2/840C index flag write/erase, 00D6 UPDATE BINARY,
0020 VERIFY, 805E CHANGE PIN, 841E/8418 application block/unblock, 8416 card block.
Every APDU gets a status word; the card never raises on bad input (docs/card-crypto.md).
"""

import os
from typing import ClassVar

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr

from . import cardcrypto as cc
from .cardimage import data_from_image, image_from_data, read_image, write_image
from .cardsecurity import SW_OK, CardSecurity, sw


class Apdu:
    """A parsed short APDU; `error` is the status word when the length fields are wrong."""

    def __init__(self, raw):
        raw = bytes(raw)
        self.error = None
        self.cla = self.ins = self.p1 = self.p2 = 0
        self.data = b""
        self.le = None  # None: absent; 0 means 256 (short APDU)
        if len(raw) < 4:
            self.error = 0x6700
            return
        self.cla, self.ins, self.p1, self.p2 = raw[0], raw[1], raw[2], raw[3]
        if len(raw) == 5:
            self.le = raw[4]
        elif len(raw) > 5:
            lc = raw[4]
            if lc == 0 or len(raw) not in (5 + lc, 6 + lc):
                self.error = 0x6700
                return
            self.data = raw[5 : 5 + lc]
            if len(raw) == 6 + lc:
                self.le = raw[5 + lc]

    @property
    def header(self):
        return bytes((self.cla, self.ins, self.p1, self.p2))


class Node:
    """A DF (children by FID) or an EF (path into CardData)."""

    def __init__(self, name, fid, parent=None, path=None):
        self.name, self.fid, self.parent, self.path = name, fid, parent, path
        self.children = {}
        if parent is not None:
            parent.children[fid] = self

    @property
    def is_df(self):
        return self.path is None


def _build_tree():
    mf = Node("MF", 0x3F00)
    ddf1 = Node("DDF1", 0xDDF1, mf)
    dfs = {"DDF1": ddf1}
    for name in ("DF01", "DF02", "DF03"):
        dfs[name] = Node(name, int(name, 16), ddf1)
    for path, _kind, _n, _reclen, _r, _w in hi.FILES:
        df, ef = path.split("/")
        Node(ef, int(ef, 16), dfs[df], path)
    return mf


def _reply_le(payload, le):
    """Data + 9000 when Le fits (00 = all), else 6Cxx with the right length."""
    if le is None or (le != 0 and le != len(payload)):
        return sw(0x6C00 | (len(payload) & 0xFF))
    return payload + SW_OK


class HealthCard(CardSecurity):
    """One emulated card built from CardData; `process(apdu) -> response + SW1 SW2`."""

    def __init__(self, data, rng=os.urandom):
        self.data = data
        self._rng = rng
        self._mf = _build_tree()
        self.power_on()

    # -- interface used by the virtual reader ------------------------------------------
    @property
    def ats(self):
        return self.data.ats

    @property
    def uid(self):
        return self.data.uid

    @property
    def card_no8(self):
        return self.data.ats[5:13]

    def power_on(self):
        """Reset: MF selected, no security state, no challenge, no pending response."""
        self._df = self._mf
        self._ef = None
        self._granted = set()
        self._challenges = []
        self._pending = None
        self.pin_verified = False

    def save(self, path):
        write_image(image_from_data(self.data), path)

    def process(self, apdu):
        try:
            return self._process(Apdu(apdu))
        except Exception:  # noqa: BLE001  an emulator bug must still answer like a card
            return sw(0x6F00)

    # -- dispatch -----------------------------------------------------------------------
    _COMMANDS: ClassVar[dict] = {
        (0x00, 0xA4): "_select", (0x00, 0xC0): "_get_response",
        (0x00, 0xB2): "_read_record", (0x00, 0xB0): "_read_binary",
        (0x00, 0x84): "_get_challenge", (0x00, 0x82): "_external_authenticate",
        (0x04, 0xDC): "_secure_update_record", (0x00, 0xDC): "_update_record",
        (0x84, 0xD2): "_index_write", (0x84, 0x0C): "_index_erase",
        (0x00, 0xD6): "_update_binary", (0x00, 0x20): "_verify",
        (0x80, 0x5E): "_change_pin", (0x84, 0x1E): "_application_block",
        (0x84, 0x18): "_application_unblock", (0x84, 0x16): "_card_block",
    }
    _CLASSES = frozenset(cla for cla, _ins in _COMMANDS)
    _INSTRUCTIONS = frozenset(ins for _cla, ins in _COMMANDS)
    _LOCKED_INS = frozenset((0xB2, 0xB0, 0x82, 0xDC, 0xD2, 0x0C, 0xD6, 0x20, 0x5E))

    def _process(self, cmd):
        if cmd.error:
            return sw(cmd.error)
        if self.data.card_locked:
            return sw(0x6A81)
        if cmd.cla not in self._CLASSES:
            return sw(0x6E00)
        if cmd.ins not in self._INSTRUCTIONS:
            return sw(0x6D00)
        handler = self._COMMANDS.get((cmd.cla, cmd.ins))
        if handler is None:
            return sw(0x6E00)
        locked = self.data.application_locked and self._df is not self._mf
        if locked and cmd.ins in self._LOCKED_INS:
            return sw(0x6985)
        pending, self._pending = self._pending, None
        if cmd.ins == 0xC0:
            return self._get_response(cmd, pending)
        return getattr(self, handler)(cmd)

    # -- files ----------------------------------------------------------------------------
    def _find(self, fid):
        if fid == 0x3F00:
            return self._mf
        if fid == 0xDDF1:
            return self._mf.children[0xDDF1]
        for df in (self._df, self._df.parent):
            if df is not None and fid in df.children:
                return df.children[fid]
        return None

    def _select(self, cmd):
        if cmd.p1 != 0x00:
            return sw(0x6A86 if cmd.p1 not in (0x04,) else 0x6A82)
        if cmd.p2 not in (0x00, 0x0C):
            return sw(0x6A86)
        if len(cmd.data) != 2:
            return sw(0x6700)
        node = self._find(int.from_bytes(cmd.data, "big"))
        if node is None:
            return sw(0x6A82)
        if not node.is_df:
            if node.parent is not self._df:
                self._enter_df(node.parent)
            self._ef = node
            return SW_OK
        self._enter_df(node)
        self._ef = None
        if self.data.application_locked and node.name == "DDF1":
            return sw(0x6283)
        fci = bytes((0x6F, 0x04, 0x83, 0x02)) + cmd.data
        if cmd.le is not None or cmd.p2 == 0x0C:
            return (fci + SW_OK) if cmd.p2 == 0x00 else SW_OK
        self._pending = fci
        return sw(0x6100 | len(fci))

    def _enter_df(self, df):
        if df is not self._df:
            self._granted = set()
            self._challenges = []
        self._df = df

    def _get_response(self, cmd, pending):
        if cmd.p1 or cmd.p2:
            return sw(0x6A86)
        if pending is None:
            return sw(0x6985)
        if cmd.le != len(pending) and cmd.le != 0:
            self._pending = pending
            return sw(0x6C00 | len(pending))
        return pending + SW_OK

    def _target(self, sfi, kinds):
        """(EF node, None) or (None, status word) for the current EF or the EF with `sfi`."""
        if sfi:
            node = self._df.children.get(0xEF00 | sfi)  # SFI n = EF0n
            if node is None or node.is_df:
                return None, sw(0x6A82)
            self._ef = node
        if self._ef is None:
            return None, sw(0x6986)
        kind = hi.file_info(self._ef.path)[1]
        if kind not in kinds:
            return None, sw(0x6981)
        return self._ef, None

    def _allowed(self, path, write=False, key=None):
        info = hi.file_info(path)
        needed = key or (info[5] if write else info[4])
        return needed is None or needed in self._granted

    # -- records ------------------------------------------------------------------------
    def _records(self, path):
        kind = hi.file_info(path)[1]
        if kind == hi.LINEAR:
            return [hr.build_record(item[1], raw)
                    for item, raw in zip(hr.items_of(path), self.data.linear[path])]
        if kind == hi.CYCLIC:
            return list(self.data.cyclic[path])
        return [bytes((flag,)) for flag in self.data.index[path]]

    def _read_record(self, cmd):
        ef, error = self._target(cmd.p2 >> 3, (hi.LINEAR, hi.CYCLIC, hi.INDEX))
        if error:
            return error
        if not self._allowed(ef.path):
            return sw(0x6982)
        records = self._records(ef.path)
        mode = cmd.p2 & 0x07
        if mode == 0x04 and cmd.p1:
            if cmd.p1 > len(records):
                return sw(0x6A83)
            return _reply_le(records[cmd.p1 - 1], cmd.le)
        if mode == 0x00 and hi.file_info(ef.path)[1] == hi.LINEAR:
            for record in records:
                if record[0] == cmd.p1:
                    return _reply_le(record, cmd.le)
            return sw(0x6A83)
        return sw(0x6A86)

    def _update_record(self, cmd):
        ef, error = self._target(cmd.p2 >> 3, (hi.LINEAR, hi.CYCLIC))
        if error:
            return error
        info = hi.file_info(ef.path)
        if info[1] == hi.LINEAR:
            return sw(0x6982)  # linear records are written with secure messaging only
        if cmd.p1 != 0x00 or cmd.p2 & 0x07 != 0x03:
            return sw(0x6A86)
        if len(cmd.data) != info[3]:
            return sw(0x6700)
        if not self._allowed(ef.path, write=True):
            return sw(0x6982)
        records = self.data.cyclic[ef.path]
        records.insert(0, bytes(cmd.data))
        del records[info[2] :]
        return SW_OK

    def _secure_update_record(self, cmd):
        ef, error = self._target(cmd.p2 >> 3, (hi.LINEAR,))
        if error:
            return error
        if cmd.p2 & 0x07 != 0x04 or cmd.p1 == 0:
            return sw(0x6A86)
        if len(cmd.data) < 20 or (len(cmd.data) - 4) % 16:
            return sw(0x6700)
        if not self._allowed(ef.path, write=True):
            return sw(0x6982)
        session = self._take_session("STK_" + self._df.name)
        if session is None:
            return sw(0x6984)
        enc, mac = cmd.data[:-4], cmd.data[-4:]
        header = cmd.header + bytes((len(cmd.data),))
        if cc.write_mac(session, header, enc) != mac:
            return sw(0x6988)
        items = hr.items_of(ef.path)
        if cmd.p1 > len(items):
            return sw(0x6A83)
        item = items[cmd.p1 - 1]
        try:
            tag, value = hi.parse_record(cc.open_secure_record(session, enc))
        except ValueError:
            return sw(0x6A80)
        if tag != item[1] or len(value) > item[2]:
            return sw(0x6A80)
        pad = b"\xFF" if item[3] == hi.CN else b"\x00"
        self.data.linear[ef.path][cmd.p1 - 1] = value + pad * (item[2] - len(value))
        return SW_OK

    def _index_flag(self, cmd, flag, key):
        ef, error = self._target(0, (hi.INDEX,))
        if error:
            return error
        if cmd.data:
            return sw(0x6700)
        if cmd.p2 != 0x04 or cmd.p1 == 0:
            return sw(0x6A86)
        flags = self.data.index[ef.path]
        if cmd.p1 > len(flags):
            return sw(0x6A83)
        if not self._allowed(ef.path, key=key):
            return sw(0x6982)
        flags[cmd.p1 - 1] = flag
        return SW_OK

    def _index_write(self, cmd):
        return self._index_flag(cmd, hi.FLAG_USED, hi.file_info("DF03/EF05")[5])

    def _index_erase(self, cmd):
        return self._index_flag(cmd, hi.FLAG_FREE, hi.ERASE_KEY_DF03)

    # -- binary ---------------------------------------------------------------------------
    def _binary_target(self, cmd):
        if cmd.p1 & 0x80:
            ef, error = self._target(cmd.p1 & 0x1F, (hi.BINARY,))
            return ef, cmd.p2, error
        ef, error = self._target(0, (hi.BINARY,))
        return ef, (cmd.p1 << 8) | cmd.p2, error

    def _read_binary(self, cmd):
        ef, offset, error = self._binary_target(cmd)
        if error:
            return error
        if not self._allowed(ef.path):
            return sw(0x6982)
        content = self.data.binary[ef.path]
        if cmd.le is None:
            return sw(0x6700)
        if offset >= len(content):
            return sw(0x6B00)
        wanted = cmd.le or 256
        chunk = bytes(content[offset : offset + wanted])
        if len(chunk) < wanted and cmd.le:
            return chunk + sw(0x6282)
        return chunk + SW_OK

    def _update_binary(self, cmd):
        ef, offset, error = self._binary_target(cmd)
        if error:
            return error
        if not cmd.data:
            return sw(0x6700)
        if not self._allowed(ef.path, write=True):
            return sw(0x6982)
        content = self.data.binary[ef.path]
        if offset >= len(content):
            return sw(0x6B00)
        if offset + len(cmd.data) > len(content):
            return sw(0x6A84)
        content[offset : offset + len(cmd.data)] = cmd.data
        return SW_OK

def load_card(path, rng=os.urandom):
    """A HealthCard from the JSON card image at `path` (docs/card-image.md)."""
    return HealthCard(data_from_image(read_image(path)), rng=rng)

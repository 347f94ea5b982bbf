"""The emulated PSAM (docs/healthcard-app.md) at APDU level, T=0 semantics.

Files: 3F00/0015 (SAM serial, versions), 3F00/0016 (terminal number), DF01/001A (key index,
issuer and receiver ids, dates), DF01/001B (issuer certificate), DF01/001C (SAM certificate).
Commands (CLA INS): 00A4 SELECT by FID, 00B0 READ BINARY, 00C0 GET RESPONSE, 0020 VERIFY,
805E CHANGE PIN, 80DE load and diversify a key, 80FA 00 00 encrypt, 80FA 05 00 MAC with IV.
Results of 80FA come through 61xx + 00C0; a wrong Le answers 6Cxx. The loaded session key
serves one 80FA and is then cleared, so every 80FA follows its own 80DE (docs/card-crypto.md).
"""

import json
from typing import ClassVar

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr

from . import cardcrypto as cc
from .card import Apdu
from .cardsecurity import SW_OK, sw

SAM_FORMAT = "hcterm-sam-image/1"
_KEY_BY_ID = {entry[2]: entry for entry in hi.KEYS}


def _bcd_date(text):
    return hr.encode(hi.CN, text, 4)


class Sam:
    """One PSAM built from a SAM image dict; `process(apdu) -> response + SW1 SW2`."""

    def __init__(self, image):
        self.image = image
        self.atr = bytes.fromhex(image["atr"])
        self.master_keys = {name: bytes.fromhex(k) for name, k in image["master_keys"].items()}
        pin = image.get("pin")
        self.pin = pin["value"] if pin else None
        self.pin_max_tries = pin["max_tries"] if pin else 0
        self.pin_tries_left = pin.get("tries_left", self.pin_max_tries) if pin else 0
        self.files = self._build_files(image)
        self.reset()

    @staticmethod
    def _build_files(image):
        f = image["files"]
        ef15 = (bytes.fromhex(f["0015"]["serial"]) + bytes((f["0015"]["version"],
                f["0015"]["key_card_type"], f["0015"]["command_set_version"],
                f["0015"]["fci"])))
        a = f["DF01/001A"]
        ef1a = (bytes((a["key_index"],)) + bytes.fromhex(a["issuer_id"])
                + bytes.fromhex(a["receiver_id"]) + _bcd_date(a["start_date"])
                + _bcd_date(a["expiry_date"]))
        files = {
            "0015": ef15,
            "0016": bytes.fromhex(f["0016"]["terminal_number"]),
            "DF01/001A": ef1a,
            "DF01/001B": bytes.fromhex(f["DF01/001B"]),
            "DF01/001C": bytes.fromhex(f["DF01/001C"]),
        }
        for path, size in (("0015", 14), ("0016", 6), ("DF01/001A", 25), ("DF01/001B", 180),
                           ("DF01/001C", 190)):
            if len(files[path]) != size:
                raise ValueError(f"SAM file {path} is {len(files[path])} bytes, expected {size}")
        return files

    def reset(self):
        """Cold reset: MF selected, PIN not verified, no key loaded, no pending response."""
        self._df = "MF"
        self._ef = None
        self._pending = None
        self._loaded = None  # (session key, usage nibble)
        self.pin_verified = self.pin is None
        return self.atr

    power_on = reset

    def process(self, apdu):
        try:
            return self._process(Apdu(apdu))
        except Exception:  # noqa: BLE001  an emulator bug must still answer like a SAM
            return sw(0x6F00)

    _COMMANDS: ClassVar[dict] = {
        (0x00, 0xA4): "_select", (0x00, 0xB0): "_read_binary", (0x00, 0xC0): "_get_response",
        (0x00, 0x20): "_verify", (0x80, 0x5E): "_change_pin", (0x80, 0xDE): "_load_key",
        (0x80, 0xFA): "_cipher",
    }

    def _process(self, cmd):
        if cmd.error:
            return sw(cmd.error)
        if cmd.cla not in (0x00, 0x80):
            return sw(0x6E00)
        if cmd.ins not in {ins for _cla, ins in self._COMMANDS}:
            return sw(0x6D00)
        handler = self._COMMANDS.get((cmd.cla, cmd.ins))
        if handler is None:
            return sw(0x6E00)
        pending, self._pending = self._pending, None
        if cmd.ins == 0xC0:
            return self._get_response(cmd, pending)
        return getattr(self, handler)(cmd)

    def _respond(self, data):
        self._pending = data
        return sw(0x6100 | len(data))

    def _get_response(self, cmd, pending):
        if cmd.p1 or cmd.p2:
            return sw(0x6A86)
        if pending is None:
            return sw(0x6985)
        if cmd.le is None or (cmd.le or 256) != len(pending):
            self._pending = pending
            return sw(0x6C00 | len(pending))
        return pending + SW_OK

    def _select(self, cmd):
        if cmd.p1 != 0x00 or cmd.p2 not in (0x00, 0x0C):
            return sw(0x6A86)
        if len(cmd.data) != 2:
            return sw(0x6700)
        fid = cmd.data.hex().upper()
        if fid in ("3F00", "DF01"):
            self._df = "MF" if fid == "3F00" else "DF01"
            self._ef = None
            self._loaded = None
            fci = bytes((0x6F, 0x04, 0x83, 0x02)) + cmd.data
            return SW_OK if cmd.p2 == 0x0C else self._respond(fci)
        path = fid if self._df == "MF" else f"DF01/{fid}"
        if path not in self.files:
            return sw(0x6A82)
        self._ef = path
        return SW_OK

    def _read_binary(self, cmd):
        if self._ef is None:
            return sw(0x6986)
        if cmd.p1 & 0x80:
            return sw(0x6A86)
        content = self.files[self._ef]
        offset = (cmd.p1 << 8) | cmd.p2
        if cmd.le is None:
            return sw(0x6700)
        if offset >= len(content):
            return sw(0x6B00)
        remaining = len(content) - offset
        wanted = cmd.le or 256
        if wanted > remaining:
            return sw(0x6C00 | remaining)
        return content[offset : offset + wanted] + SW_OK

    def _pin_bytes(self):
        return hr.encode(hi.CN, self.pin, (len(self.pin) + 1) // 2)

    def _verify(self, cmd):
        if cmd.p1 or cmd.p2:
            return sw(0x6A86)
        if self.pin is None:
            return SW_OK  # this SAM has no PIN: nothing to verify
        if self.pin_tries_left == 0:
            return sw(0x6983)
        if not cmd.data:
            return sw(0x63C0 | self.pin_tries_left)
        if bytes(cmd.data) != self._pin_bytes():
            self.pin_tries_left -= 1
            self.pin_verified = False
            return sw(0x63C0 | self.pin_tries_left)
        self.pin_tries_left = self.pin_max_tries
        self.pin_verified = True
        return SW_OK

    def _change_pin(self, cmd):
        if cmd.p1 != 0x01 or cmd.p2 != 0x00:
            return sw(0x6A86)
        if self.pin is None:
            return sw(0x6A88)
        if self.pin_tries_left == 0:
            return sw(0x6983)
        old, sep, new = bytes(cmd.data).partition(b"\xFF")
        digits = hi.decode(hi.CN, new) if sep else ""
        if not sep or not digits.isdigit() or len(digits) < 4:
            return sw(0x6A80)
        if old != self._pin_bytes():
            self.pin_tries_left -= 1
            return sw(0x63C0 | self.pin_tries_left)
        self.pin = digits
        self.pin_tries_left = self.pin_max_tries
        return SW_OK

    def _ready(self):
        if not self.pin_verified:
            return sw(0x6982)
        if self._df != "DF01":
            return sw(0x6985)
        return None

    def _load_key(self, cmd):
        """80DE: P1 = levels (2x one, 4x two) and usage (x7 auth, x8 enc/MAC), P2 = key id."""
        not_ready = self._ready()
        if not_ready:
            return not_ready
        self._loaded = None
        if cmd.p1 not in (0x27, 0x28, 0x47, 0x48):
            return sw(0x6A86)
        entry = _KEY_BY_ID.get(cmd.p2)
        if entry is None or entry[0] not in self.master_keys:
            return sw(0x6A88)
        if entry[1] != cmd.p1:
            return sw(0x6A86)  # wrong level or usage for this key
        two_levels = cmd.p1 >> 4 == 4
        if len(cmd.data) != (24 if two_levels else 16):
            return sw(0x6700)
        data = bytes(cmd.data)
        card_no8, random8 = data[:8], data[-8:]
        city8 = data[8:16] if two_levels else None
        card_key = cc.card_key(self.master_keys[entry[0]], card_no8, city8)
        self._loaded = (cc.session_key(card_key, random8), cmd.p1 & 0x0F)
        return SW_OK

    def _cipher(self, cmd):
        """80FA 00 00: SM4-ECB encrypt; 80FA 05 00: IV(16) || data -> 4-byte CBC-MAC."""
        not_ready = self._ready()
        if not_ready:
            return not_ready
        if (cmd.p1, cmd.p2) not in ((0x00, 0x00), (0x05, 0x00)):
            return sw(0x6A86)
        if not cmd.data or len(cmd.data) % 16 or (cmd.p1 == 0x05 and len(cmd.data) < 32):
            return sw(0x6700)
        if self._loaded is None:
            return sw(0x6985)
        (session, usage), self._loaded = self._loaded, None
        if cmd.p1 == 0x00:
            return self._respond(cc.encrypt_ecb(session, bytes(cmd.data)))
        if usage != 0x08:
            return sw(0x6985)  # authentication keys do not compute MACs
        return self._respond(cc.cbc_mac(session, cmd.data[:16], bytes(cmd.data[16:]))[:4])


def load_sam(path):
    """A Sam from a SAM image JSON file."""
    with open(path, encoding="utf-8") as f:
        image = json.load(f)
    if image.get("format") != SAM_FORMAT:
        raise ValueError(f"{path}: format is {image.get('format')!r}, expected {SAM_FORMAT!r}")
    return Sam(image)

"""A scanned QR code -> the qr event and the feedback (docs/terminal-flow.md): the terminal
imports this module, and the parser reader.cards.qrcode, for each code and lets both go after it.
"""

import time

from reader import hostlink
from reader.cards.qrcode import QRCodeError, expired, parse_qr

# QRCodeError codes (reader.chips.qr_scanner) -> event reasons
_QR_REASONS = ("", "empty", "fields", "bad_id", "bad_type", "bad_validity", "bad_issuer",
               "too_long", "not_text")


def scanned(t, code):
    """Terminal `t` got `code` (bytes) from the scanner, or the QRCodeError of a bad line.
    Returns what was wrong with the line (text) when it was line noise (too long, not text:
    the scanner or its line fails, not the code), else None."""
    if isinstance(code, QRCodeError):
        return _refused(t, None, code)
    try:
        fields = parse_qr(code)
    except QRCodeError as error:
        return _refused(t, code, error)
    # the code's own "type" goes as "code_type": an event's "type" is its message name
    fields["code_type"] = fields.pop("type")
    now = "%04d%02d%02d%02d%02d%02d" % time.localtime(time.time() + t.clock_offset)[0:6]
    fields["text"] = _text(code)
    if "validity" in fields:
        fields["expiry_checked"] = t.clock_set
    # the offline blacklist holds electronic health card IDs too (docs/blacklist-format.md)
    blacklist = t.blacklist()
    listed = blacklist.contains_ehc(fields["id"])
    blacklist.close()
    fields["blacklist_stale"] = t.blacklist_stale(blacklist)
    if listed:
        return _listed(t, fields, blacklist.version)
    if t.clock_set and expired(fields, now):
        fields["status"] = "refused"
        fields["reason"] = "expired"
        fields["message"] = "the dynamic code expired at %s" % fields["validity"]
        t.send(hostlink.EV_QR, fields)
        t.signal("refused", fields)
        return
    fields["status"] = "ok"
    t.send(hostlink.EV_QR, fields)
    t.signal("qr", fields)


def _listed(t, fields, version):
    fields["status"] = "refused"
    fields["reason"] = "blacklisted"
    fields["message"] = "the electronic health card ID is on the offline blacklist (version " \
        "%d)" % version
    t.send(hostlink.EV_QR, fields)
    t.signal("refused", fields)


def _refused(t, code, error):
    body = {"status": "refused", "reason": _QR_REASONS[error.code]
            if error.code < len(_QR_REASONS) else "bad_code", "message": error.reason}
    if code is not None:
        body["text"] = _text(code)
    t.send(hostlink.EV_QR, body)
    t.signal("refused", body)
    if body["reason"] in ("too_long", "not_text"):
        return error.reason


def _text(code):
    try:
        return str(bytes(code), "utf-8")
    except UnicodeError:
        from binascii import hexlify
        return hexlify(code).decode().upper()

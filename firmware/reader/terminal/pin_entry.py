"""VERIFY PIN with the PIN typed on the reader's keypad (docs/host-link.md
verify-pin-on-reader, docs/handheld.md): the PIN never travels to the host, which gets the
outcome only. In RAM for the request only (reader.terminal.requests calls it through
`reader.call`); the keypad driver (reader.chips.keypad) comes and goes with it.

    request  {"timeout_s"?: 5-120 (default 30): the seconds the cardholder has to type it}
    answer   {"outcome": "ok" | "wrong" | "blocked" | "cancelled" | "timeout", "retries": n}
    errors   not-supported (kind no-keypad: the board has none), no-card (none on the reader,
             or it left during the entry), and the card's and SAM's errors as for verify-pin

Sequence: the card's tries left (VERIFY without data); none left -> "blocked" at once. Then
the keypad: digits (4-12) shown masked with the tries left, `#` confirms, `*` cancels, `B`
deletes the last digit, `C` clears them all; the card application is out of RAM meanwhile.
Then VERIFY `00 20 00 00 Lc PIN` (CN, padded with F): 9000 -> "ok"; 63Cx -> "wrong", x tries
left; 6983 -> "blocked". The digits are wiped from RAM once sent.
"""

import asyncio
import time

from micropython import const

import reader
from reader import hostlink
from reader.errors import ReaderError
from reader.terminal.session import LinkError

MIN_DIGITS = const(4)
MAX_DIGITS = const(12)
_SCAN_MS = const(10)       # the keypad is scanned this often (debounce: 20 ms)
_KEY_BEEP_MS = const(20)


async def verify_pin_on_reader(h, obj):
    board = h.board
    if not hasattr(board, "keypad"):
        raise LinkError(hostlink.NOT_SUPPORTED, "board %s has no keypad: verify the PIN with "
                        "verify-pin (typed on the host) or use a reader with a keypad"
                        % board.NAME, "no-keypad")
    timeout_s = obj.get("timeout_s", 30)
    if not isinstance(timeout_s, int) or timeout_s is True or not 5 <= timeout_s <= 120:
        raise LinkError(hostlink.BAD_REQUEST, "timeout_s: whole seconds, 5-120")
    tries = await _card(h, _tries)
    if not tries:
        return {"outcome": "blocked", "retries": 0}
    digits = bytearray(MAX_DIGITS)
    try:
        outcome, n = await _collect(h, digits, tries, timeout_s * 1000)
    finally:
        reader.let_go("chips.keypad")      # out of RAM before the card application comes
    if outcome is not None:
        _screen(h, 0, tries, False)
        return {"outcome": outcome, "retries": tries}
    pin = digits[:n].decode()
    for i in range(MAX_DIGITS):
        digits[i] = 0
    try:
        tries = await _card(h, lambda card: _verify(card, pin))
    except ReaderError as error:
        if error.kind == "pin-wrong":
            return {"outcome": "wrong", "retries": error.tries_left}
        if error.kind == "pin-blocked":
            return {"outcome": "blocked", "retries": 0}
        raise
    finally:
        pin = None
        _screen(h, 0, tries, False)
    return {"outcome": "ok", "retries": tries}


def _tries(card):
    return card.pin_tries()


def _verify(card, pin):
    card.verify_pin(pin)
    return card.pin_tries()


async def _card(h, fn):
    """`fn(card)` on the card in the field (CardWrites' card session: chip lock, SAM, the
    health card application), whose code leaves RAM again after it."""
    from reader.terminal.card_writes import CardWrites

    try:
        return await CardWrites(h)._with_card(fn, writer=True)
    finally:
        reader.let_go("terminal.card_writes", "terminal.card_requests")
        h.terminal.let_go()


async def _collect(h, digits, tries, timeout_ms):
    """Keys until `#` with enough digits -> (None, n); or ("cancelled" | "timeout", 0).
    LinkError no-card when the card leaves the reader meanwhile."""
    from reader.chips.keypad import Keypad

    rows, cols = h.board.keypad()
    pad = Keypad(rows, cols)
    t = h.terminal
    n = 0
    seen = False
    _screen(h, n, tries, True)
    start = time.ticks_ms()
    while True:
        now = time.ticks_ms()
        if time.ticks_diff(now, start) >= timeout_ms:
            return "timeout", 0
        if t.present is not None:
            seen = True                 # the flow has the card (it may not have had it yet)
        elif seen:
            raise LinkError(hostlink.NO_CARD, "the card left the reader during the PIN entry: "
                            "put it back and ask again")
        key = pad.poll(now)
        if key is not None:
            _click(h)
            if "0" <= key <= "9":
                if n < MAX_DIGITS:
                    digits[n] = ord(key)
                    n += 1
            elif key == "#":
                if n >= MIN_DIGITS:
                    return None, n
            elif key == "*":
                return "cancelled", 0
            elif key == "B":
                n = max(0, n - 1)
            elif key == "C":
                n = 0
            _screen(h, n, tries, True)
        await asyncio.sleep_ms(_SCAN_MS)


def _click(h):
    if h.beeper is not None and h.config.get("beeper"):
        asyncio.create_task(h.beep(_KEY_BEEP_MS))


def _screen(h, n, tries, entering):
    """The "pin" screen (n digits masked, the tries left) on a board with a display
    (reader.terminal.feedback.show, docs/display.md) while `entering`; the idle screen again
    when the entry is over."""
    if hasattr(h.board, "display"):
        if entering:
            reader.call("terminal.feedback", "show", h, "pin",
                        {"digits": n, "tries_left": tries})
        else:
            reader.call("terminal.feedback", "show", h, "idle")

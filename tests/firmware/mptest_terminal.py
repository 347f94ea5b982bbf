# heapsize: 96k
# firmware: romfs
# The terminal's decisions on one tap (reader.terminal.flow), with the card read, the SAM and the
# link server replaced by fakes: event fields, blacklist and expiry refusals, card removed
# mid-read, events and feedback.
import os

from reader import hostlink
from reader.cards.healthcard_errors import COMMUNICATION, HealthCardError
from reader.terminal import blacklist as bl
from reader.terminal import settings
from reader.terminal.flow import Terminal, event_fields

TMP = os.getenv("MPTEST_TMP")
KH = b"410105198503154213"
DATA = {"KH": KH, "XM": "张伟".encode("utf-8"), "XB": b"\x01", "MZ": "01",
        "CSRQ": "19850315", "SFZH": KH, "KYXQ": "20390316"}


class Server:
    def __init__(self):
        self.events = []

    def event(self, msg, body):
        self.events.append((msg, body))


class Session:
    """What the flow reads of reader.terminal.session.Session: a board with a colour LED
    (what it shows is recorded in `shown`), no display, no beeper."""

    def __init__(self, server):
        self.server = server
        self.shown = shown = []

        class Board:
            NAME = "test"
            sam_slot = None

            @staticmethod
            def led_colour(name):
                shown.append(name)

        self.board = Board
        self.led = self.beeper = None
        self.config, _ = settings.load(TMP + "/config.json")
        self.terminal = None


class Card:
    uid = b"\x8a\x3f\x21\xc7"
    channel = None
    ats = b""


class FakeTerminal(Terminal):
    """The read and the SAM are fakes: `outcome` is the data or an exception to raise."""

    outcome = None
    gone = False

    def sam_ready(self):
        return "psam"

    def _read(self, card, psam):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def _still_there(self, uid):
        return None if self.gone else Card()


def tap(outcome, gone=False, blacklist=None, clock_set=True, policy=None):
    server = Server()
    session = Session(server)
    if policy:
        session.config["unchecked_expiry"] = policy
    t = FakeTerminal(session, blacklist=blacklist or bl.Blacklist(TMP + "/none.bin"))
    if clock_set:
        t.set_clock(0)                       # as the host's set-time does
    t.outcome, t.gone = outcome, gone
    t._tap(Card(), bytes(Card.uid), 0)
    assert len(server.events) == 1, server.events
    return server.events[0], session.shown


def test_event_fields_cn_as_digits_an_and_b_as_hex():
    out = event_fields(DATA)
    assert out["KH"] == "343130313035313938353033313534323133"
    assert out["XB"] == "01" and out["CSRQ"] == "19850315" and out["MZ"] == "01"


def test_ok_tap_sends_the_fields_and_shows_green():
    (msg, body), shown = tap(dict(DATA))
    assert msg == hostlink.EV_TAP and body["status"] == "ok" and "reason" not in body
    assert body["uid"] == "8A3F21C7" and body["CSRQ"] == "19850315"
    assert body["latency_ms"] >= 0
    assert shown == ["green"]


def test_expired_card_is_refused_with_its_date():
    (msg, body), shown = tap(dict(DATA, KYXQ="20231231"))
    assert (msg, body["status"], body["reason"]) == (hostlink.EV_TAP, "refused", "expired")
    assert body["message"] == "the card expired on 20231231"
    assert body["expiry_checked"] is True
    assert shown == ["red"]


def test_without_a_set_clock_expiry_is_unchecked_and_the_policy_decides():
    (msg, body), shown = tap(dict(DATA, KYXQ="20231231"), clock_set=False)
    assert (body["status"], body["expiry_checked"]) == ("ok", False), body   # accept, flag
    (msg, body), shown = tap(dict(DATA, KYXQ="20231231"), clock_set=False, policy="refuse")
    assert (body["status"], body["reason"], body["expiry_checked"]) == \
        ("refused", "clock_not_set", False), body
    assert "clock is not set" in body["message"] and "20231231" in body["message"]
    assert shown == ["red"]


def test_blacklisted_id_is_refused():
    path = TMP + "/bl.bin"
    from reader.terminal import blacklist_build as bb

    with open(path, "wb") as f:
        b = bb.Builder(f)
        b.add_ids(bb.ListSource([bl.key("410105198503154213")]))
        b.finish()
        f.seek(0)
        f.write(bb.header({"kind": 1, "version": 7, "count": 1, "id_pages": 1,
                           "body_size": b.body_size, "body_sha256": b.digest}))
    store = bl.Blacklist(path)
    (msg, body), _ = tap(dict(DATA), blacklist=store)
    assert (body["status"], body["reason"]) == ("refused", "blacklisted")
    assert "version 7" in body["message"]


def test_card_gone_mid_read_is_an_error_without_fields():
    error = HealthCardError(COMMUNICATION, 1, "READ RECORD", "no answer")
    (msg, body), shown = tap(error, gone=True)
    assert msg == hostlink.EV_ERROR
    assert (body["status"], body["reason"], body["code"]) == ("error", "card_removed",
                                                             hostlink.NO_CARD)
    assert "KH" not in body and "XM" not in body
    assert shown == ["amber"]


def test_locked_card_is_refused():
    from reader.cards.healthcard_errors import LOCKED
    (msg, body), _ = tap(HealthCardError(LOCKED, 0x6283, "SELECT DDF1", "locked"))
    assert (body["status"], body["reason"]) == ("refused", "locked")



def test_the_terminal_knows_the_communication_kind_by_its_value():
    # the terminal catches the card application's errors by their base class (its modules
    # leave RAM between taps) and tells a failed link by the kind's value
    from reader.cards import healthcard_errors
    from reader.terminal import flow as terminal
    assert terminal._COMMUNICATION == healthcard_errors.COMMUNICATION

# heapsize: 128k
# firmware: romfs
# simbus: support.emu_benches:health_card
# Issue 18's sweeps: the card torn at each APDU of a whole-file read (the photo) and of each
# write flow the firmware has (secure record update, cyclic append, a DF03 outpatient record
# with its index flag). The emulated card processes the APDU and leaves before its answer
# (the field's card_removed fault), the tear point going 0, 1, 2, ... until the flow runs
# through. A read: an error of the link, never part of the file as good. A write: an error,
# and the card, put back and read in a new session, holds the old content or the new one,
# never a mix (the emulated card updates a record, and one UPDATE BINARY's bytes, in one
# step, as a card's anti-tearing does); the writer names the change in doubt (`in_doubt`)
# when the card left during it, and only there may the new content be on the card. Each
# sweep prints its tear points and checks they are the flow's APDUs.
import hashlib
from binascii import hexlify

import sim_bench_healthcard as bench

from reader.cards.healthcard import HealthCard
from reader.cards.healthcard_errors import HealthCardError
from reader.cards.healthcard_write import HealthCardWriter

LINK = ("communication", "card-gone")     # the kinds of a card that left
_psam = []


def psam():
    if not _psam:
        _psam.append(bench.psam())
    return _psam[0]


def fresh(cls=HealthCard):
    """A new session on the card in the field (put back after a tear)."""
    channel, ats = bench.activate()
    card = cls(channel, psam(), ats, scratch=bench.SCRATCH)
    card.power_up()
    return card


def sweep(name, flow, check, cls=HealthCardWriter):
    """Tear sample `name` (a fresh copy each time) at APDU 0, 1, ... of `flow(card)` until it
    runs through; `check(point, torn_session, error)` after each tear, with the card put
    back. Returns (tear points, the flow's result)."""
    point = 0
    while True:
        card = bench.open_card(name, cls, sam=psam())
        bench.tear(point)
        try:
            result = flow(card)
        except HealthCardError as error:
            assert error.kind in LINK, (point, error.kind, error)
            bench.clear()
            bench.putback()
            check(point, card, error)
            point += 1
            assert point < 80, "the flow never ran through"
            continue
        bench.clear()
        return point, result


def test_a_photo_read_torn_at_each_apdu_is_an_error_never_part_of_the_photo():
    want = bench.photo("adult")

    def flow(card):
        return card.read(("DDF1/EF07",))["DDF1/EF07"]

    points, photo = sweep("adult", flow, lambda point, card, error: None, HealthCard)
    assert hexlify(hashlib.sha256(photo).digest()).decode() == want["sha256"]
    # AuthIRK (GET CHALLENGE, EXTERNAL AUTHENTICATE), SELECT EF07, the 2-byte length, then
    # the JPEG in 128-byte READ BINARYs
    apdus = 4 + (want["length"] + 127) // 128
    print("photo read (%d bytes): %d tear points of %d APDUs" % (want["length"], points, apdus))
    assert points == apdus


def test_a_secure_record_update_torn_at_each_apdu_leaves_the_old_or_the_new_value():
    old = fresh().read(("BRDH1",))["BRDH1"]
    new = b"13912345678"
    assert old != new
    seen = []

    def check(point, card, error):
        value = fresh().read(("BRDH1",))["BRDH1"]
        if card.in_doubt is None:
            assert value == old, (point, value)      # nothing that changes it was sent
        else:
            assert "secure write" in card.in_doubt and value in (old, new), (point, value)
        seen.append((card.in_doubt is not None, value == new))

    points, _ = sweep("adult", lambda card: card.write_item("BRDH1", new), check)
    assert fresh().read(("BRDH1",))["BRDH1"] == new
    # AuthUK (GET CHALLENGE twice, EXTERNAL AUTHENTICATE), SELECT EF08, GET CHALLENGE, 04DC
    print("secure record update: %d tear points" % points)
    assert points == 6
    assert seen[-1] == (True, True)                  # torn in the 04DC: the card had it
    assert all(not doubt and not changed for doubt, changed in seen[:-1]), seen


def test_a_cyclic_append_torn_at_each_apdu_leaves_the_old_records_or_the_new_one_first():
    old = fresh().read(("DF02/EF07",))["DF02/EF07"]
    record = {"GMWZMC": b"ASPIRIN", "GMFY": b"RASH"}
    new = ([record] + old)[0:3]

    def check(point, card, error):
        records = fresh().read(("DF02/EF07",))["DF02/EF07"]
        assert records == old or (card.in_doubt is not None and records == new), \
            (point, card.in_doubt, records)

    points, _ = sweep("adult", lambda card: card.add_record("DF02/EF07", record), check)
    assert fresh().read(("DF02/EF07",))["DF02/EF07"] == new
    # SELECT DF02 (answered 61xx: GET RESPONSE), AuthUK (GET CHALLENGE twice, EXTERNAL
    # AUTHENTICATE), SELECT EF07, 00DC
    print("cyclic append: %d tear points" % points)
    assert points == 7


def test_an_outpatient_record_torn_at_each_apdu_is_never_marked_used_half_written():
    data = b"visit 2026-12-06: " + b"x" * 2000
    before = fresh(HealthCardWriter).read_visits("ED")
    slots = []

    def check(point, card, error):
        visits = fresh(HealthCardWriter).read_visits("ED")
        if visits == before:
            return                                    # the slot is still free: old
        added = [n for n in visits if n not in before]
        assert len(added) == 1 and card.in_doubt is not None, (point, card.in_doubt)
        assert visits[added[0]]["data"] == data, point  # marked used only when whole
        slots.append(point)

    points, slot = sweep("adult", lambda card: card.write_visit("ED", data), check)
    assert fresh(HealthCardWriter).read_visits("ED")[slot]["data"] == data
    # the index: SELECT DF03 (61xx: GET RESPONSE), AuthIRK (2), SELECT EF06, 5 READ RECORDs;
    # the record: AuthUK (3), SELECT ED0n, 26 UPDATE BINARYs of 128 bytes (3267); the flag:
    # its AuthUK is granted already, SELECT EF06, 84D2
    print("outpatient record write: %d tear points" % points)
    assert points == 2 + 2 + 1 + 5 + 3 + 1 + (3267 + 127) // 128 + 1 + 1
    assert slots == [points - 1], slots               # only torn in the 84D2 itself

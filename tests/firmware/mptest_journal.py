# heapsize: 256k
# The offline tap journal's store (reader.terminal.journal, docs/tap-journal.md) on the sim
# NOR flash with littlefs: the documented bytes, appends and deliveries across reopening,
# the policies when full, the boot's clean-up, and a power cut at every block-device
# operation of an append, of a delivery's note and of the boot's repair of a damaged segment:
# the journal then holds exactly the events before or the events after, each intact, and
# nothing else.
import os

import vfs
from cut_flash import copy, mount
from fake_journal_session import DIR, Session, fresh

from reader.terminal import atomic_file
from reader.terminal import journal as J

TMP = os.getenv("MPTEST_TMP")
TAP = 0x80
QR = 0x82


def payload(n, pad=0):
    return b'{"status":"ok","uid":"%08X","n":%d,"XM":"%s"}' % (n, n, b"A" * pad)


def kept(journal):
    """The (seq, msg, n) of every event the journal would deliver, read without delivering."""
    out = []
    for seq in range(journal.sent, journal.next):
        found = journal._read(seq)
        assert found is not None, ("entry %d is not readable" % seq)
        msg, raw = found
        at = raw.index(b'"n":') + 4
        out.append((seq, msg, int(raw[at:raw.index(b",", at)])))
    return out


def vectors():
    with open("../../docs/tap-journal.md") as f:
        text = f.read()
    block = text[text.index("```tap-journal-vectors") + 23:]
    block = block[:block.index("```")]
    out = []
    for line in block.split("\n"):
        if line.startswith("    "):
            out[-1][1].extend(int(x, 16) for x in line.split())
        elif line.strip():
            out.append((line, []))
    return out


def test_the_documented_bytes():
    seen = 0
    for line, data in vectors():
        words = line.split(" ", 3)
        if words[0] == "head":
            assert J.head_bytes(int(words[1], 16), int(words[2], 16)) == bytes(data), line
        else:
            assert J.entry_bytes(int(words[1], 16), int(words[2], 16),
                                 words[3].encode()) == bytes(data), line
        seen += 1
    assert seen == 5


def test_the_documented_entry_is_read_back_from_a_segment():
    fresh()
    line, data = [v for v in vectors() if v[0].startswith("entry 80 00000011")][0]
    os.mkdir(DIR)
    with open(DIR + "/head", "wb") as f:
        f.write(J.head_bytes(0x11, 0x0BADF00D))
    with open(DIR + "/00000010", "wb") as f:
        f.write(bytes(data))
    journal = J.Journal(DIR, Session(), {})
    assert (journal.first, journal.next, journal.id) == (0x11, 0x12, "0102030405060708-0BADF00D")
    seq, msg, body = journal.peek()
    assert (seq, msg) == (0x11, TAP)
    assert body == line.split(" ", 3)[3].encode()[:-1] + \
        b',"journal_seq":17,"journal_id":"0102030405060708-0BADF00D"}'


def test_appends_survive_a_reopen_and_deliveries_note_their_progress():
    fresh()
    stats = {}
    journal = J.Journal(DIR, Session(), stats)
    for n in range(40):
        assert journal.put(TAP if n % 3 else QR, payload(n), 1796597513) is True
    assert journal.waiting() == 40
    assert sorted(os.listdir(DIR)) == ["00000000", "00000010", "00000020", "head"]
    again = J.Journal(DIR, Session(), stats)
    assert again.id == journal.id and kept(again) == kept(journal)
    assert [k[2] for k in kept(again)] == list(range(40))
    for n in range(20):
        seq, msg, body = again.peek()
        assert seq == n and b'"tapped_at":"' in body and b'"clock_set":true' in body
        again.delivered(seq)
    # noted at the segment's end (16): a reopen sends 16..19 again, and 0..15 are gone
    assert sorted(os.listdir(DIR)) == ["00000010", "00000020", "head"]
    third = J.Journal(DIR, Session(), stats)
    assert (third.first, third.sent, third.next) == (16, 16, 40)
    while third.waiting():
        third.delivered(third.peek()[0])
    assert os.listdir(DIR) == ["head"]
    # numbers go on from where they were, after a reopen of the empty journal too
    fourth = J.Journal(DIR, Session(), stats)
    assert (fourth.first, fourth.next) == (40, 40)
    fourth.put(TAP, payload(99), 1796597513)
    assert fourth.peek()[0] == 40


def test_a_full_journal_refuses_or_drops_the_oldest_as_configured():
    fresh()
    stats = {}
    journal = J.Journal(DIR, Session(most=10), stats)
    for n in range(10):
        assert journal.put(TAP, payload(n), 0) is True
    assert journal.put(TAP, payload(10), 0) == b"journal_full"
    assert stats["journal_refused"] == 1 and journal.waiting() == 10
    journal.session = Session(most=10, full="drop_oldest")
    for n in range(10, 31):
        assert journal.put(TAP, payload(n), 0) is True
    assert stats["journal_dropped"] == 21 and journal.waiting() == 10
    assert [k[2] for k in kept(journal)] == list(range(21, 31))
    assert sorted(os.listdir(DIR)) == ["00000010", "head"]      # 0-15 dropped whole
    reopened = J.Journal(DIR, Session(), stats)
    assert [k[2] for k in kept(reopened)] == list(range(21, 31))


def test_the_boot_cuts_a_damaged_entry_and_removes_litter():
    fresh()
    journal = J.Journal(DIR, Session(), {})
    for n in range(20):
        journal.put(TAP, payload(n), 0)
    with open(DIR + "/00000010", "rb") as f:
        data = bytearray(f.read())
    second = data.index(b"\xa5\x80\x00\x00\x00\x11")
    data[second + 12] ^= 0x01                 # a bit of entry 17's payload flipped
    with open(DIR + "/00000010", "wb") as f:
        f.write(data)
    for litter in ("head.tmp", "00000010.tmp", "0000004x"):
        with open(DIR + "/" + litter, "wb") as f:
            f.write(b"left by a cut")
    booted = J.Journal(DIR, Session(), {})
    assert [k[2] for k in kept(booted)] == list(range(17))
    assert sorted(os.listdir(DIR)) == ["00000000", "00000010", "head"]
    assert booted.put(TAP, payload(77), 0) is True and kept(booted)[-1] == (17, TAP, 77)


def sweep(name, prepare, action, before, after, session=Session):
    """Cut the power at every operation of `action(journal)`: the boot then finds the kept
    events `before` or `after` (lists of n), intact, and only the head and their segments."""
    image, base = TMP + "/" + name + ".img", TMP + "/" + name + "-base.img"
    fresh(name + ".img")
    journal = J.Journal(DIR, session(), {})
    prepare(journal)
    vfs.umount("/jf")
    copy(image, base)
    flash = mount(image, "/jf")
    action(J.Journal(DIR, session(), {}))
    total = flash.ops
    outcomes = {"before": 0, "after": 0}
    for cut in range(total):
        copy(base, image)
        mount(image, "/jf", cut)
        try:
            action(J.Journal(DIR, session(), {}))
        except OSError:
            pass
        mount(image, "/jf")                     # power back: the boot cleans up (the
        atomic_file.clean(DIR)                  # self-test), then opens the journal
        booted = J.Journal(DIR, session(), {})
        got = [k[2] for k in kept(booted)]
        if got == before:
            outcomes["before"] += 1
        elif got == after:
            outcomes["after"] += 1
        else:
            raise AssertionError("cut %d of %s: the journal holds %r" % (cut, name, got))
        segments = sorted(set("%08x" % (s - s % J.SEGMENT)
                              for s in range(booted.first, booted.next)))
        assert sorted(os.listdir(DIR)) == segments + ["head"], (cut, name, os.listdir(DIR))
    print("journal power-cut sweep %s: %d cut points %r" % (name, total, outcomes))
    assert outcomes["before"] >= 1 and outcomes["after"] >= 0
    return total


def fill(count, pad=0):
    def prepare(journal):
        for n in range(count):
            journal.put(TAP, payload(n, pad), 0)
    return prepare


def append(n, pad=0):
    def action(journal):
        if not journal.put(TAP, payload(n, pad), 0):
            raise OSError(5)
    return action


def dropping():
    return Session(most=16, full="drop_oldest")


def deliver(count):
    def action(journal):
        for _ in range(count):
            journal.delivered(journal.peek()[0])
    return action


def damaged(count, bad):
    """`count` events, then a bit of entry `bad`'s payload flipped (in segment 00000010)."""
    def prepare(journal):
        fill(count)(journal)
        with open(DIR + "/00000010", "rb") as f:
            data = bytearray(f.read())
        data[data.index(b"\xa5\x80\x00\x00\x00" + bytes((bad,))) + 12] ^= 0x01
        with open(DIR + "/00000010", "wb") as f:
            f.write(data)
    return prepare


def booted(journal):
    """The boot's look itself is the action (Journal(): a damaged tail cut off through
    reader.terminal.atomic_file)."""


def test_a_power_cut_anywhere_in_an_append_or_a_delivery_leaves_before_or_after():
    total = 0
    total += sweep("into", fill(5), append(5), list(range(5)), list(range(6)))
    # a segment of 12 taps of ~450 bytes: past littlefs's inline files, in blocks of its own
    total += sweep("blocks", fill(12, 400), append(12, 400), list(range(12)), list(range(13)))
    total += sweep("start", fill(16), append(16), list(range(16)), list(range(17)))
    total += sweep("drop", fill(16), append(16), list(range(16)), list(range(1, 17)),
                   dropping)
    total += sweep("note", fill(20), deliver(16), list(range(20)), list(range(16, 20)))
    # a cut while the boot cuts a damaged entry and what follows off its segment: the next
    # boot cuts it again
    total += sweep("repair", damaged(20, 17), booted, list(range(17)), list(range(17)))
    print("journal power-cut sweep: %d cut points in all" % total)
    assert total >= 20, total

"""Installing signed blacklists and deltas on a virtual reader over its link
(docs/blacklist-format.md "Updates", docs/host-link.md blacklist-update): resumable chunks,
the reader's refusals (unsigned, tampered, rolled back, wrong base, expired, too big), a
restart in the middle, staleness and its policy."""

import time

import pytest

from hcterm import blacklist_files as bf
from hcterm.commands.demo import install_blacklist, set_clock, signed_list
from hcterm.emulator import samples
from hcterm.link import ReaderError
from hcterm.platform_signing import generate_key
from hcterm.sim.virtualreader import VirtualReader
from reader import hostlink
from reader.cards.idnumber import check_character
from reader.terminal import blacklist as bl


def ids(n, region=410105, year=1960):
    out = []
    for i in range(n):
        first = f"{region:06d}{year + i % 50:04d}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        out.append(first + check_character(first))
    return out


def listing(id_numbers, version, key=samples.DEMO_PLATFORM_KEY, **fields):
    data = bf.build_list(bf.read_list("\n".join(id_numbers)), version, **fields)
    return bf.sign(data, key)


def refused(reader, body, match):
    with pytest.raises(ReaderError, match=match) as error:
        reader.blacklist_update(body)
    assert error.value.code == hostlink.BAD_REQUEST


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    flash = tmp_path_factory.mktemp("blacklist") / "flash.img"
    vr = VirtualReader(flash=flash).start()
    reader = vr.open_reader(open_timeout=30, timeout=10)
    try:
        reader.next_event(timeout=10)
        set_clock(reader)
        yield vr, reader, flash
    finally:
        reader.close()
        vr.stop()


def test_a_reader_without_the_platform_key_refuses_every_list(rig):
    _, reader, _ = rig
    assert reader.config()["blacklist_key"] == ""
    refused(reader, {"begin": bf._b64(signed_list()[:bl.HEADER_SIZE])},
            "no platform key is provisioned")
    assert reader.blacklist_status()["installed"] is False


def test_install_then_refusals_keep_the_old_list(rig):
    vr, reader, _ = rig
    assert install_blacklist(reader)["version"] == 1
    status = reader.blacklist_status()
    assert (status["installed"], status["version"], status["count"], status["format"]) == \
        (True, 1, 4, 2)
    # the same list again: nothing to send
    assert bf.push(reader, signed_list())["already"] is True
    # the key is provisioned once: a host cannot swap it for its own
    other_private, other_public = generate_key()
    with pytest.raises(ReaderError, match="blacklist_key is provisioned"):
        reader.set_config(blacklist_key=other_public.hex())
    head = signed_list(version=2)[:bl.HEADER_SIZE]
    unsigned = bf.build_list(bf.read_list("410105198503154213"), 2)
    refused(reader, {"begin": bf._b64(unsigned[:bl.HEADER_SIZE])}, "not signed")
    refused(reader, {"begin": bf._b64(listing(["410105198503154213"], 2, other_private)
                                      [:bl.HEADER_SIZE])}, "does not verify")
    tampered = bytearray(head)
    tampered[27] ^= 1                                  # the count
    refused(reader, {"begin": bf._b64(bytes(tampered))}, "does not verify")
    refused(reader, {"begin": bf._b64(listing(["410105198503154213"], 1)[:bl.HEADER_SIZE])},
            "never rolls back")
    refused(reader, {"begin": bf._b64(listing(["410105198503154213"], 2,
                                              expires=int(time.time()) - 60)
                                      [:bl.HEADER_SIZE])}, "expired")
    refused(reader, {"update": "0123456789abcdef", "at": 0, "data": ""}, "no update is open")
    status = reader.blacklist_status()
    assert (status["version"], status["count"]) == (1, 4)
    event = tap_blacklisted(vr, reader)
    assert event["reason"] == "blacklisted", event


def tap_blacklisted(vr, reader):
    path = next(p for p in samples.paths() if "-blacklisted-" in p.name)
    vr.devices.tap(path)
    try:
        while True:
            event = reader.next_event(timeout=10)
            if event["type"] == "tap":
                return event
    finally:
        vr.devices.remove()
        reader.next_event(timeout=5)


def test_chunks_resume_where_they_stopped_and_a_tap_between_chunks_is_served(rig):
    vr, reader, _ = rig
    data = listing(ids(3000) + ["410702198804302754"], 3)
    h = bl.parse_header(data)
    body = data[h["page_size"]:]
    answer = reader.blacklist_update({"begin": bf._b64(data[:bl.HEADER_SIZE])})
    update = answer["update"]
    assert answer == {"update": update, "received": 0, "total": len(body)}
    for at in (0, bf.CHUNK, 2 * bf.CHUNK):
        answer = reader.blacklist_update({"update": update, "at": at,
                                          "data": bf._b64(body[at:at + bf.CHUNK])})
    assert answer["received"] == 3 * bf.CHUNK
    # a chunk at the wrong place, a commit too early: refused, saying where to resume
    refused(reader, {"update": update, "at": 0, "data": bf._b64(body[:10])},
            f"resume from {3 * bf.CHUNK}")
    refused(reader, {"update": update, "commit": True}, "send the rest")
    assert tap_blacklisted(vr, reader)["reason"] == "blacklisted"      # old list in force
    status = reader.blacklist_status()
    assert status["version"] == 1
    assert status["update"] == {"update": update, "received": 3 * bf.CHUNK,
                                "total": len(body)}
    seen = []
    final = bf.push(reader, data, progress=lambda at, total: seen.append(at))
    assert seen[0] == 3 * bf.CHUNK and seen[-1] == len(body)        # resumed, not restarted
    assert (final["version"], final["count"]) == (3, 3001)
    assert "update" not in reader.blacklist_status()


def test_a_delta_applies_on_its_base_only_and_makes_the_signed_list(rig):
    vr, reader, _ = rig
    base = listing(ids(3000) + ["410702198804302754"], 3)
    assert reader.blacklist_status()["version"] == 3
    new = bf.read_list("\n".join(ids(2900) + ids(40, region=650102)))
    delta = bf.sign(bf.build_delta(base, new, 4), samples.DEMO_PLATFORM_KEY)
    wrong_base = bf.sign(bf.build_delta(listing(ids(10), 2), new, 4), samples.DEMO_PLATFORM_KEY)
    refused(reader, {"begin": bf._b64(wrong_base[:bl.HEADER_SIZE])}, "applies to version 2")
    status = bf.push(reader, delta)
    assert (status["version"], status["count"]) == (4, 2940)
    event = tap_blacklisted(vr, reader)      # 410702198804302754 was removed by the delta
    assert event["status"] == "ok", event
    # the reader's rebuilt list is byte for byte the list the platform signed the digest of
    full = listing(ids(2900) + ids(40, region=650102), 4)
    assert bl.parse_header(full)["body_sha256"] == bl.parse_header(delta)["body_sha256"]


def test_a_restarted_reader_resumes_the_download(tmp_path):
    flash = tmp_path / "flash.img"
    data = listing(ids(4000, region=110101), 9)
    body = data[4096:]
    with VirtualReader(flash=flash) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        reader.next_event(timeout=10)
        set_clock(reader)
        install_blacklist(reader)
        answer = reader.blacklist_update({"begin": bf._b64(data[:bl.HEADER_SIZE])})
        for at in range(0, 5 * bf.CHUNK, bf.CHUNK):
            reader.blacklist_update({"update": answer["update"], "at": at,
                                     "data": bf._b64(body[at:at + bf.CHUNK])})
        reader.close()
    # the reader lost power in the middle; it boots again on the same flash
    with VirtualReader(flash=flash) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            set_clock(reader)
            status = reader.blacklist_status()
            assert status["version"] == 1 and status["update"]["received"] == 5 * bf.CHUNK
            seen = []
            assert bf.push(reader, data, lambda at, total: seen.append(at))["version"] == 9
            assert seen[0] == 5 * bf.CHUNK
        finally:
            reader.close()


def test_a_list_that_cannot_fit_is_refused_before_its_first_byte():
    # 1 MiB of sim flash: a list body of 1.5 MB (some 600 000 ID numbers) cannot fit; the
    # header alone says so
    with VirtualReader() as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            reader.set_config(blacklist_key=samples.DEMO_PUBLIC_KEY)
            head = bf.build_list(bf.read_list("410105198503154213"), 1)
            h = bl.parse_header(head)
            from reader.terminal import blacklist_build as bb

            fields = dict(h, body_size=1_500_000)
            fake = bf.sign(bb.header(fields) + bytes(4096 - bl.HEADER_SIZE),
                           samples.DEMO_PLATFORM_KEY)
            refused(reader, {"begin": bf._b64(fake[:bl.HEADER_SIZE])},
                    r"not enough flash: the update needs \d+ bytes, \d+ are free")
        finally:
            reader.close()


def test_a_stale_list_is_flagged_in_every_tap_and_refused_when_the_policy_says_so():
    with VirtualReader() as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            reader.next_event(timeout=10)
            set_clock(reader)
            reader.set_config(blacklist_key=samples.DEMO_PUBLIC_KEY, blacklist_max_age_h=24)
            bf.push(reader, signed_list(issued=time.time() - 2 * 86400))
            assert reader.blacklist_status()["stale"] is True
            path = next(p for p in samples.paths() if "-adult-" in p.name)
            vr.devices.tap(path)
            event = reader.next_event(timeout=10)
            assert (event["status"], event["blacklist_stale"]) == ("ok", True), event
            vr.devices.remove()
            reader.next_event(timeout=5)
            reader.set_config(stale_blacklist="refuse")
            vr.devices.tap(path)
            event = reader.next_event(timeout=10)
            assert (event["status"], event["reason"]) == ("refused", "blacklist_stale"), event
            vr.devices.remove()
            reader.next_event(timeout=5)
            bf.push(reader, signed_list(version=2))
            assert reader.blacklist_status()["stale"] is False
            vr.devices.tap(path)
            event = reader.next_event(timeout=10)
            assert (event["status"], event["blacklist_stale"]) == ("ok", False), event
        finally:
            reader.close()


def test_a_blacklisted_electronic_health_card_code_is_refused():
    static = "E1EA526EEFCB84EF4A1704F5EEC0278EDA5CDB591104EBB27234BBE846225063:1"
    with VirtualReader() as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            reader.next_event(timeout=10)
            reader.set_config(blacklist_key=samples.DEMO_PUBLIC_KEY)
            data = bf.sign(bf.build_list(bf.read_list(static[:64] + "\n410702198804302754"),
                                         1), samples.DEMO_PLATFORM_KEY)
            assert bf.push(reader, data)["ehc_count"] == 1
            vr.devices.scan(static)
            event = reader.next_event(timeout=10)
            assert (event["type"], event["status"], event["reason"]) == \
                ("qr", "refused", "blacklisted"), event
            assert event["id"] == static[:64] and "version 1" in event["message"]
            other = "B" * 64 + ":1"
            vr.devices.scan(other)
            event = reader.next_event(timeout=10)
            assert (event["status"], event["blacklist_stale"]) == ("ok", False), event
        finally:
            reader.close()

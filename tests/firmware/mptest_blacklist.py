# heapsize: 256k
# firmware: romfs
# The offline blacklist store, format 2 (reader.terminal.blacklist, blacklist_build;
# docs/blacklist-format.md): keys, the page layout on littlefs (one flash block of list data
# per lookup), exact lookups, the encoder's round trip, format 1 still honoured.
import gc
import os

import vfs
from simflash import BLOCK_SIZE, NorFlash

from reader.cards.idnumber import check_character
from reader.terminal import blacklist as bl
from reader.terminal import blacklist_build as bb

TMP = os.getenv("MPTEST_TMP")


class CountingFlash(NorFlash):
    """The sim NOR flash, noting which blocks littlefs reads and how many bytes."""

    def __init__(self, path, blocks):
        super().__init__(path, blocks)
        self.reads = None          # a list while counting

    def readblocks(self, block, buf, offset=0):
        if self.reads is not None:
            self.reads.append((block, offset, len(buf)))
        super().readblocks(block, buf, offset)


def _id(region, year, n):
    first = "%06d%04d%02d%02d%03d" % (region, year, 1 + n % 12, 1 + n % 28, n % 1000)
    return first + check_character(first)


def _members(limit=2100):
    # 3 regions, many birth dates: several pages, pages with more than one region
    for i in range(limit):
        yield _id((110101, 410102, 650102)[i // 700], 1940 + i % 70, (i % 700) * 7)


def _mount(blocks=160):
    image = TMP + "/bl.img"
    try:
        os.remove(image)
    except OSError:
        pass
    flash = CountingFlash(image, blocks)
    vfs.VfsLfs2.mkfs(flash)
    fs = vfs.VfsLfs2(flash)
    try:
        vfs.umount("/fl")
    except OSError:
        pass
    vfs.mount(fs, "/fl")
    return flash


def _build(path, ids, ehc=()):
    keys = sorted(set(bl.key(i) for i in ids))
    gc.collect()
    with open(path, "wb") as f:
        b = bb.Builder(f, BLOCK_SIZE)
        b.add_ids(bb.ListSource(keys))
        for e in ehc:
            b.add_ehc(e)
        b.finish()
        f.seek(0)
        f.write(bb.header({"kind": 1, "version": 5, "count": b.count, "ehc_count": b.ehc_count,
                           "id_pages": b.id_pages, "ehc_pages": b.ehc_pages,
                           "body_size": b.body_size, "body_sha256": b.digest}))
    return keys, b


def test_keys_order_by_region_birth_date_sequence_and_derive_the_check():
    assert bl.days(1850, 1, 1) == 0 and bl.days(2000, 3, 1) - bl.days(2000, 2, 28) == 2
    assert bl.key("410702198804302754") == (410702 << 27) | (bl.days(1988, 4, 30) * 1000 + 275)
    assert bl.key("41022219830225667X") == bl.key("41022219830225667x")
    assert bl.key(_id(110101, 1940, 10)) < bl.key(_id(110101, 1940, 11)) < \
        bl.key(_id(110102, 1850, 0))
    for bad in ("410702198804302755", "41070219880430275", "410702198802302754"):
        try:
            bl.key(bad)
        except bl.BlacklistError:
            pass
        else:
            raise AssertionError("accepted " + bad)


def test_page_offsets_follow_littlefs_blocks():
    assert [bl.page_capacity(p, 4096) for p in range(1, 9)] == \
        [4092, 4088, 4092, 4084, 4092, 4088, 4092, 4080]
    total = 0
    for p in range(0, 40):
        assert bl.page_offset(p, 4096) == total, p
        total += bl.page_capacity(p, 4096)


def test_every_member_found_every_other_id_not_one_flash_block_of_data_per_lookup():
    flash = _mount()
    keys, b = _build("/fl/bl.bin", _members())
    assert b.id_pages >= 2 and b.count == 2100, (b.id_pages, b.count)
    store = bl.Blacklist("/fl/bl.bin")
    assert store.status()["count"] == 2100 and store.error is None
    worst = pointers = 0
    store.contains(_id(110101, 1940, 0))          # opens the file: its directory entry
    for n, i in enumerate(_members()):
        if n % 7:
            continue
        flash.reads = []
        assert store.contains(i), i
        # list data comes from one block (reads of littlefs's cache size, 128 bytes);
        # littlefs also reads skip-list pointers (read size, 32 bytes at offset 0) of the
        # blocks on the way to it
        data_blocks = set(r[0] for r in flash.reads if r[2] > 32)
        worst = max(worst, len(data_blocks))
        pointers = max(pointers, len([r for r in flash.reads if r[2] == 32]))
    flash.reads = None
    store.close()
    assert worst == 1, worst
    assert pointers <= 40, pointers
    members = set(keys)
    for n in range(0, 3000, 3):
        other = _id(110101 + n % 3, 1941 + n % 60, n * 11 + 1)
        assert store.contains(other) == (bl.key(other) in members), other
    assert not store.contains("not an ID number")


def test_the_encoder_round_trips_ids_and_ehc_ids():
    _mount()
    ehc = sorted(bytes((n * 37 + i) & 0xFF for i in range(32)) for n in range(150))
    keys, b = _build("/fl/bl.bin", _members(900), ehc)
    h = bl.parse_header(open("/fl/bl.bin", "rb").read(bl.HEADER_SIZE))
    with open("/fl/bl.bin", "rb") as f:
        assert list(bb.keys(f, h)) == keys
        assert list(bb.ehc_ids(f, h)) == ehc
    store = bl.Blacklist("/fl/bl.bin")
    for e in ehc[::10]:
        assert store.contains_ehc("".join("%02x" % x for x in e))
    assert not store.contains_ehc("00" * 32)


def test_the_encoder_refuses_keys_out_of_order():
    b = bb.Builder(open(TMP + "/x.bin", "wb"))
    try:
        b.add_ids(bb.ListSource([bl.key("410702198804302754"), bl.key("410102197508084564")]))
    except bl.BlacklistError as error:
        assert "ascend" in str(error)
    else:
        raise AssertionError("a key out of order was accepted")


def test_merge_applies_adds_and_removes_and_refuses_what_does_not_fit():
    assert list(bb.merge([1, 3, 5], [2, 6], [3])) == [1, 2, 5, 6]
    for old, adds, removes in (([1, 3], [3], []), ([1, 3], [], [2]), ([1], [], [9])):
        try:
            list(bb.merge(old, adds, removes))
        except bl.BlacklistError:
            pass
        else:
            raise AssertionError((old, adds, removes))


def test_a_format_1_list_is_still_honoured():
    from reader.terminal import blacklist_format1 as f1

    path = TMP + "/f1.bin"
    with open(path, "wb") as f:
        f.write(f1.build(["410702198804302754", "41022219830225667X"], 4))
    store = bl.Blacklist(path)
    assert store.contains("410702198804302754") and not store.contains("410102197508084564")
    status = store.status()
    assert status["format"] == 1 and status["version"] == 4 and status["count"] == 2


def test_a_damaged_file_refuses_nobody_and_says_why():
    _mount()
    _build("/fl/bl.bin", _members(100))
    with open("/fl/bl.bin", "ab") as f:
        f.write(b"x")
    store = bl.Blacklist("/fl/bl.bin")
    assert not store.contains(_id(110101, 1940, 0))
    assert "header says" in store.status()["error"] and not store.installed


def test_the_vectors_of_the_doc():
    # docs/blacklist-format.md: keys, page offsets, the sample list built here byte for byte,
    # and the demo platform's signature over its statement, verified by the firmware's SM2
    import hashlib
    from binascii import hexlify, unhexlify

    from reader.terminal import sm2

    with open("../../docs/blacklist-format.md") as f:
        block = f.read().split("```blacklist-vectors\n", 1)[1].split("```", 1)[0]
    v, keys = {}, []
    for line in block.strip().split("\n"):
        parts = line.split()
        if parts[0] == "key":
            assert "%012X" % bl.key(parts[1]) == parts[2], parts
            keys.append(bl.key(parts[1]))
        else:
            v[parts[0]] = parts[1:]
    assert [bl.page_offset(p, 4096) for p in range(6)] == [int(x) for x in v["page_offsets"]]
    _mount()
    with open("/fl/s.bin", "wb") as f:
        b = bb.Builder(f)
        b.add_ids(bb.ListSource(sorted(keys)))
        b.finish()
        f.seek(0)
        f.write(bb.header({"kind": 1, "version": 1, "issued": 1796000000, "count": 4,
                           "id_pages": b.id_pages, "body_size": b.body_size,
                           "body_sha256": b.digest}))
    with open("/fl/s.bin", "rb") as f:
        data = f.read()

    def upper(x):
        return hexlify(x).decode().upper()

    assert upper(data[0:160]) == v["statement"][0]
    assert upper(data[4096:4160]) == v["page1"][0]
    assert upper(data[-6:]) == v["index"][0]
    assert upper(hashlib.sha256(data).digest()) == v["file_sha256"][0]
    public = unhexlify("581fdb3b8d9c0fa523e7efdd5a7f50a1401014960af798b26fe86ccbb8af2eec"
                       "67a3e523de853c433f54723e5e904a9d2fd11b476dd135b5cad693689f775c56")
    assert sm2.verify(public, data[0:160], unhexlify(v["signature"][0]))
    assert not sm2.verify(public, data[0:159] + b"\x01", unhexlify(v["signature"][0]))

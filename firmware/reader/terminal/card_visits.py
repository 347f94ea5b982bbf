"""The host's writes of binary files and DF03 index flags (docs/host-link.md write-file,
visit-flag: the national iW_DF03EEInfo / EDInfo and iW_ / iErase_DF03EF05Info / EF06Info):
functions of a reader.terminal.card_writes.CardWrites (`requests`), which imports this module
for such a request; it leaves with the request's code (a tap, a read, an item write or a PIN
never loads it).

write-file: AuthUK of the file's update key (UK_DF03_1 for EE0n/ED0n, UK_DDF1 for the photo),
then plain `00D6 offH offL Lc` chunks of 128 bytes. visit-flag: `84D2 0n 04 00` (used, after
AuthUK UK_DF03_1) or `840C 0n 04 00` (free, after AuthUK UK_DF03_2) of index record n.
"""

from binascii import unhexlify

from reader import hostlink
from reader.cards import healthcard_items as hi
from reader.terminal.session import LinkError


def _file(obj, kind, what):
    path = obj.get("file")
    info = hi.file_info(path) if isinstance(path, str) else None
    if info is None or info[1] != kind:
        raise LinkError(hostlink.BAD_REQUEST, "file: %s expected, not %r" % (what, path))
    return path, info


async def write_file(requests, obj):
    path, info = _file(obj, hi.BINARY, "a binary file (DF03/EE01..EE03, ED01..ED05, "
                       "DDF1/EF07)")
    offset = obj.get("offset", 0)
    try:
        data = unhexlify(obj.get("data") or "")
    except (TypeError, ValueError):
        raise LinkError(hostlink.BAD_REQUEST, "data: the bytes as hex") from None
    if not (isinstance(offset, int) and offset >= 0 and data
            and offset + len(data) <= info[2]):
        raise LinkError(hostlink.BAD_REQUEST, "offset/data: 1 or more bytes inside the %d "
                        "bytes of %s" % (info[2], path))

    def run(card):
        card.authenticate(info[5])
        card.select_ef(path)
        card.write_binary(offset, data)
        return {"file": path, "offset": offset, "written": len(data)}

    return await requests._with_card(run, writer=True)


async def visit_flag(requests, obj):
    path, info = _file(obj, hi.INDEX, "an index file (DF03/EF05 inpatient, DF03/EF06 "
                       "outpatient)")
    record, used = obj.get("record"), obj.get("used")
    if not isinstance(record, int) or not 1 <= record <= info[2]:
        raise LinkError(hostlink.BAD_REQUEST, "record: 1..%d for %s" % (info[2], path))
    if used is not True and used is not False:
        raise LinkError(hostlink.BAD_REQUEST, "used: true (write the flag) or false "
                        "(erase it)")

    def run(card):
        card.set_index(path, record, used)
        return {"file": path, "record": record, "used": used}

    return await requests._with_card(run, writer=True)

"""The host's card and clock requests, served by the terminal between its polls
(docs/host-link.md messages read, read-file, set-time here; write, verify-pin, change-pin in
reader.terminal.card_writes, which a read does not load; blacklist-status and -update in
reader.terminal.blacklist_update; docs/terminal-flow.md "Host requests").

Each card request takes the terminal's chip lock, activates the card in the field (no card:
error no-card), runs reader.cards.healthcard (powered up, SAM DF01) and releases the card. Values go
as in tap events: CN digits, AN and B as upper-case hex (AN = GBK bytes; writes take the same).
`LinkError`s and HealthCardErrors become ERROR answers in reader.terminal.requests.
"""

import gc
from binascii import hexlify

from micropython import const

from reader import hostlink
from reader.cards import healthcard_items as hi
from reader.terminal.flow import event_fields
from reader.terminal.session import LinkError

_MAX_READ = const(480)           # read-file: hex of 480 bytes fits one answer
_EARLIEST_YEAR = const(2026)    # no true time is earlier than this firmware


class CardRequests:
    """The card requests of `session` (reader.terminal.session.Session), served with its
    terminal flow's card reader and SAM."""

    def __init__(self, session):
        self.session = session
        self.t = session.terminal

    async def _with_card(self, fn, writer=False):
        t = self.t
        if t.reader is None:
            raise LinkError(hostlink.NO_SLOT, "board %s has no card reader" % t.board.NAME)
        async with self.session.chip_lock:
            card = t.take_card()
            if card is None:
                raise LinkError(hostlink.NO_CARD, "no card in the field: put the card on the "
                                "reader and ask again")
            psam = t.sam_ready()
            if psam is None:
                raise LinkError(hostlink.DEVICE, "the SAM does not answer (%s): check the SAM "
                                "slot" % t.sam_error, "sam")
            gc.collect()       # the request's garbage goes before the card application comes
            if writer:
                from reader.cards.healthcard_write import HealthCardWriter as Card
            else:
                from reader.cards.healthcard import HealthCard as Card
            session = Card(card.channel, psam, card.ats)
            session.power_up()
            result = fn(session)
            t.probe()                  # config heap_probe: a host request's peak counts too
            return result

    # -- read -----------------------------------------------------------------------------
    async def read(self, obj):
        entries = list(obj.get("files") or []) + list(obj.get("fields") or [])
        if not entries:            # nothing named: what a tap reads (config read_profile)
            profile = self.t.config.get("read_profile")
            data = await self._with_card(lambda card: card.read(profile))
            return event_fields(data)
        for entry in entries:
            if not isinstance(entry, str):
                raise LinkError(hostlink.BAD_REQUEST, "files/fields: names as text")
            if entry.startswith("DDF1/EF07") or entry[:7] in ("DF03/EE", "DF03/ED"):
                raise LinkError(hostlink.BAD_REQUEST, "%s is a binary file: use read-file "
                                "(offset, length)" % entry)
        record = obj.get("record")

        def run(card):
            from reader.cards.healthcard import plan
            try:
                plan(entries)
            except ValueError as error:
                raise LinkError(hostlink.BAD_REQUEST, str(error)) from None
            return card.read(entries)

        data = await self._with_card(run)
        out = {}
        for key in data:
            value = data[key]
            if isinstance(value, list):        # cyclic records: dicts, newest first
                value = [event_fields(r) if isinstance(r, dict) else r for r in value]
                if isinstance(record, int):
                    if not 1 <= record <= len(value):
                        raise LinkError(hostlink.BAD_REQUEST, "%s has %d records, not %d"
                                        % (key, len(value), record))
                    out.update(value[record - 1])
                    continue
                out[key] = value
            else:
                out.update(event_fields({key: value}))
        return out

    async def read_file(self, obj):
        path = obj.get("file")
        info = hi.file_info(path) if isinstance(path, str) else None
        if info is None or info[1] != hi.BINARY:
            raise LinkError(hostlink.BAD_REQUEST, "file: a binary file (DDF1/EF07, DF03/EE01.."
                            "ED05) expected; read linear files with read")
        offset, length = obj.get("offset", 0), obj.get("length", 256)
        if not (isinstance(offset, int) and isinstance(length, int) and offset >= 0
                and 0 < length <= _MAX_READ and offset + length <= info[2]):
            raise LinkError(hostlink.BAD_REQUEST, "offset/length: 1..%d bytes inside the %d "
                            "bytes of %s" % (_MAX_READ, info[2], path))

        def run(card):
            card.authenticate(info[4])
            card.select_ef(path)
            return card.read_binary(offset, bytearray(length))

        data = await self._with_card(run)
        return {"data": hexlify(data).decode().upper()}

    # -- clock ------------------------------------------------------------------------------
    async def set_time(self, obj):
        """{"time": "YYYYMMDDhhmmss"} (local time): the reader's date for expiry checks."""
        import time

        text = obj.get("time")
        if not isinstance(text, str) or len(text) != 14 or not text.isdigit():
            raise LinkError(hostlink.BAD_REQUEST, "time: YYYYMMDDhhmmss expected")
        if int(text[0:4]) < _EARLIEST_YEAR:
            raise LinkError(hostlink.BAD_REQUEST, "time %s is before this firmware was made (%d):"
                            " the host's clock is wrong; set it right and send it again"
                            % (text, _EARLIEST_YEAR))
        parts = [int(text[i:i + 2]) for i in range(4, 14, 2)]
        want = time.mktime((int(text[0:4]), parts[0], parts[1], parts[2], parts[3], parts[4],
                            0, 0))
        self.t.set_clock(want - time.time())
        return {"today": self.t.today(), "clock_set": True}

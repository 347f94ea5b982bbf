"""The host's writes to the card and its PIN requests (docs/host-link.md write, verify-pin,
change-pin; write-file and visit-flag in reader.terminal.card_visits, imported for them):
`CardWrites`, CardRequests plus these, imported for such a request and let go after it.
"""

from binascii import unhexlify

from reader import hostlink
from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr
from reader.errors import ReaderError
from reader.terminal.card_requests import CardRequests
from reader.terminal.session import LinkError

_COMMUNICATION = "communication"    # healthcard_errors.COMMUNICATION: the link failed


def _torn(error, written, values, in_doubt):
    """The card left in the middle of a write: what is on it, and how to check."""
    left = [v[0] for v in values[len(written):]]
    doubt = left.pop(0) if in_doubt else None
    message = "the card left during the write (%s): written: %s" % (
        error, ", ".join(written) or "nothing")
    if doubt:
        message += "; %s holds its old or its new value (the card updates a record " \
            "atomically): read it back to check" % doubt
    if left:
        message += "; not written: %s" % ", ".join(left)
    return LinkError(hostlink.NO_CARD, message + "; put the card back and write again what "
                     "is missing", "write-torn")


class CardWrites(CardRequests):
    # -- write and PIN ----------------------------------------------------------------------
    async def write(self, obj):
        fields = obj.get("fields")
        if not isinstance(fields, dict) or not fields:
            raise LinkError(hostlink.BAD_REQUEST, 'fields: {"FIELD": value, ...} expected')
        values = []
        for name in fields:
            item = hi.item_by_field(name)
            if item is None:
                raise LinkError(hostlink.BAD_REQUEST, "no item %r" % name)
            value = fields[name]
            if not isinstance(value, str):
                raise LinkError(hostlink.BAD_REQUEST, "%s: text expected (CN digits, AN/B hex)"
                                % name)
            if item[3] != hi.CN:
                try:
                    value = unhexlify(value)
                except ValueError:
                    raise LinkError(hostlink.BAD_REQUEST, "%s: AN/B values as hex" % name) \
                        from None
            try:
                hr.encode(item[3], value, item[2])
            except ValueError as error:
                raise LinkError(hostlink.BAD_REQUEST, "%s: %s" % (name, error)) from None
            values.append((name, value))

        def run(card):
            written = []
            try:
                for name, value in values:
                    card.write_item(name, value)
                    written.append(name)
            except ReaderError as error:
                if error.kind != _COMMUNICATION or not (written or card.in_doubt):
                    raise                   # refused, or the card left before any write
                raise _torn(error, written, values, card.in_doubt) from None
            return {"written": written}

        return await self._with_card(run, writer=True)

    async def verify_pin(self, obj):
        pin = obj.get("pin")
        if not isinstance(pin, str) or not 4 <= len(pin) <= 12 or not pin.isdigit():
            raise LinkError(hostlink.BAD_REQUEST, "pin: 4 to 12 digits as text")

        def run(card):
            card.verify_pin(pin)
            return {"retries": card.pin_tries()}

        return await self._with_card(run, writer=True)

    # -- binary files and DF03 index flags: reader.terminal.card_visits, loaded for them ----
    async def write_file(self, obj):
        from reader.terminal.card_visits import write_file
        return await write_file(self, obj)

    async def visit_flag(self, obj):
        from reader.terminal.card_visits import visit_flag
        return await visit_flag(self, obj)

    async def change_pin(self, obj):
        old, new = obj.get("old"), obj.get("new")
        for value in (old, new):
            if not isinstance(value, str) or not 4 <= len(value) <= 12 or not value.isdigit():
                raise LinkError(hostlink.BAD_REQUEST, "old/new: 4 to 12 digits as text")

        def run(card):
            card.change_pin(old, new)
            return {}

        return await self._with_card(run, writer=True)

# heapsize: 93k
# firmware: romfs
# simbus: support.emu_benches:health_card
# The whole reader stack in one heap, measured stage by stage (docs/firmware-memory.md): the
# board's buses, the self-test's chip and SAM checks, the drivers and protocols, the health
# card and PSAM applications, the host link server idling under asyncio, then a tap (poll,
# SAM reset + DF01, identity read through the SAM, tap event encoded for the host).
# Figures are heap bytes without the ROMFS image (it stands for flash): `live` after
# gc.collect(), `peak` the most live at any APDU or stage boundary of the stage.
import gc
import os
import sys

import micropython

sys.path.append("../../boards/sim-pn532-uart")

_IMAGE = os.stat(os.getenv("MPTEST_ROMFS"))[6]   # the image's bytes sit in this heap too
_rows = []
_peak = [0]


def _live():
    gc.collect()
    return gc.mem_alloc() - _IMAGE


def _sample():
    live = _live()
    if live > _peak[0]:
        _peak[0] = live
    return live


def _stage(name):
    live = _sample()
    _rows.append((name, live, _peak[0]))
    _peak[0] = live


def _sampled(channel):
    """Sample the live heap after each APDU of `channel` (the deepest points of a read)."""
    inner = channel.transceive

    def transceive(apdu):
        result = inner(apdu)
        _sample()
        return result

    channel.transceive = transceive


class _IdlePort:
    """The USB port with no host talking: reads wait, writes are counted."""

    def __init__(self, asyncio):
        self._never = asyncio.Event()
        self.written = 0

    async def readinto(self, buf):
        await self._never.wait()
        return 0

    def write(self, data):
        self.written += len(data)


def _report(total):
    print("stage                  live    peak  (heap bytes, ROMFS image excluded)")
    for name, live, peak in _rows:
        print("%-20s %7d %7d" % (name, live, peak))
    print("budget %d, image %d, peak of the whole run %d" % (total, _IMAGE,
                                                             max(r[2] for r in _rows)))
    micropython.mem_info()
    micropython.qstr_info()


async def _tap(asyncio, hostlink, server, contactless, psam, fields):
    from binascii import hexlify

    from reader.cards.healthcard import HealthCard

    card = contactless.poll()
    assert card is not None, "no card on the antenna"
    _sampled(card.channel)
    got = HealthCard(card.channel, psam, card.ats).read("identity")
    for key, value in got.items():
        fields[key] = value if isinstance(value, str) else hexlify(value).decode()
    got = None
    server.event(hostlink.EV_TAP, fields)
    _sample()
    await asyncio.sleep_ms(20)                   # the tx task encodes and writes the event


def test_whole_stack_fits_the_budget():
    _stage("harness")
    micropython.qstr_info()                      # the harness's own qstrs, before the firmware
    total = gc.mem_alloc() + gc.mem_free() - _IMAGE
    import board
    _stage("board")

    from reader.terminal import selftest
    chip = selftest.check_reader_chip(board)
    sam = selftest.check_sam(board)
    assert chip["ok"] and sam["ok"], (chip, sam)
    chip = sam = selftest = None
    sys.modules.pop("reader.terminal.selftest")           # as reader.main does after the self-test
    _stage("self-test")

    from reader.terminal import devices
    contactless = devices.open_card_reader(board)
    slot = devices.open_sam_slot(board)
    # reader.protocols.iso14443_4 is not imported: on a PN532 board the chip runs ISO-DEP,
    # and only the RC522Reader imports it (with iso14443_3 and mfrc522 instead of pn532)
    _stage("drivers")

    import reader
    from reader.cards.psam import PSAM
    from reader.protocols.apdu import SAMChannel
    reader.call("chips.sam_activation", "power_on", slot)
    channel = SAMChannel(slot)
    _sampled(channel)
    psam = PSAM(channel)
    psam.select_df01()
    from reader.cards import healthcard  # noqa: F401
    _stage("card app")

    import asyncio

    from reader import hostlink
    from reader.terminal import link_server as linkserver

    port = _IdlePort(asyncio)
    server = linkserver.LinkServer(port, None)
    fields = {"status": "ok"}

    failures = []
    asyncio.get_event_loop().set_exception_handler(
        lambda loop, context: failures.append(context["exception"]))

    async def main():
        serving = asyncio.create_task(server.serve())
        await asyncio.sleep_ms(50)
        _stage("link idle")
        await _tap(asyncio, hostlink, server, contactless, psam, fields)
        _stage("tap")
        server.handoff = True
        server._outbox.clear()                  # nobody acknowledges: no wait for it
        await serving

    asyncio.run(main())
    asyncio.new_event_loop()
    assert not failures, failures                # e.g. a MemoryError inside a server task
    assert fields["SFZH"] == "343130313035313938353033313534323133", fields  # ASCII hex
    assert port.written > 100, port.written      # the tap event went out on the port
    _report(total)
    peak = max(r[2] for r in _rows)
    assert peak <= total, (peak, total)

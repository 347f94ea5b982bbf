# The sim's frozen names. On a board the frozen modules' names (identifiers, attribute and
# argument names, module paths) are in flash. The unix port interns a ROMFS module's names
# in heap pools at its first import, pools that double in size: the sixth holds names up to
# ~1,260, the seventh needs one block of ~14 KB, which a fragmented heap in the middle of a
# tap or a QR scan does not have (docs/firmware-memory.md, "The qstr pool's next block").
#
# simboot.py calls intern() once, before the firmware runs, while the heap is still empty:
# the flow's modules are imported and let go (their names stay interned, as they would at
# their first import), then filler names from the image (modules _qfNN of names nothing
# else uses, hcterm.sim.romimage) until the seventh pool is allocated, at the bottom of the
# heap.
# The virtual reader adds that pool's size on top of the budget, as it adds the image's (on
# a board neither is in RAM); the first six pools stay inside it, as every budget was
# measured with them. From then on a new name never needs a new block: 1,280 more fit.
# The fillers only take entries of pools that exist anyway; their text stays in the image.
import gc
import sys

_POOL = 8192    # a collection-to-collection growth this big is the seventh pool (~14 KB)


def _flow():
    # what a fixed reader imports after boot: a tap, a QR code, a blacklist install, the
    # host's requests of the demo and the heap tests (each interns these names anyway)
    import reader.cards.healthcard
    import reader.cards.healthcard_errors
    import reader.cards.healthcard_items
    import reader.cards.healthcard_records
    import reader.cards.idnumber
    import reader.cards.psam
    import reader.cards.psam_admin
    import reader.cards.qrcode
    import reader.chips.qr_scanner
    import reader.chips.sam_activation
    import reader.protocols.bit_rates
    import reader.terminal.blacklist
    import reader.terminal.blacklist_update
    import reader.terminal.card_requests
    import reader.terminal.device_requests
    import reader.terminal.devices
    import reader.terminal.feedback
    import reader.terminal.qr_scan
    import reader.terminal.requests
    import reader.terminal.settings
    import reader.terminal.sm2
    import reader.terminal.sm3  # noqa: F401


def _drop(before):
    for name in [m for m in sys.modules if m not in before]:
        del sys.modules[name]
    gc.collect()


def intern():
    """Intern the flow's names, then fillers until the seventh pool exists. Returns how many
    filler modules it took (None: the image has too few, the pool was not reached)."""
    before = set(sys.modules)
    _flow()
    _drop(before)
    used = gc.mem_alloc()
    index = 0
    while True:
        try:
            __import__("_qf%02d" % index)
        except ImportError:
            return None
        _drop(before)
        index += 1
        now = gc.mem_alloc()
        if now - used > _POOL:
            return index
        used = now

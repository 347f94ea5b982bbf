# The sim's frozen names. On a board the frozen modules' names (identifiers, attribute and
# argument names, module paths) are in flash. The unix port interns a ROMFS module's names
# in heap pools at its first import, pools that double in size: the sixth holds names up to
# ~1,260, the seventh needs one block of ~14 KB, which a fragmented heap in the middle of a
# tap or a QR scan does not have (docs/firmware-memory.md, "The qstr pool's next block").
#
# simboot.py calls intern() once, right after the board module, while the heap is still
# nearly empty: the modules that stay resident are imported, then filler names from the
# image (modules _qfNN of names nothing else uses, hcterm.sim.romimage) until the seventh
# pool is allocated, in one piece near the bottom of the heap. The virtual reader adds that
# pool's size on top of the budget, as it adds the image's (on a board neither is in RAM);
# the first six pools stay inside it, as every budget was measured with them, and the
# fillers take only entries of those. The firmware's other names all go into the seventh
# (1,280 entries; ~660 are left after sim-rc522's boot, its demo takes ~170 of them), so
# no new pool is allocated in the middle of the flow. The fillers' text stays in the image.
import gc
import sys

_POOL = 8192    # a collection-to-collection growth this big is the seventh pool (~14 KB)


def _drop(before):
    for name in [m for m in sys.modules if m not in before]:
        del sys.modules[name]
    gc.collect()


def intern():
    """Intern fillers until the seventh pool exists. Returns how many filler modules it took,
    or None when the image holds no more of them (an image `hcterm flash` wrote has none)."""
    # the modules that stay in RAM from boot on come first (reader.main.run imports them):
    # their names are real ones in the first six pools, more room for the rest in the seventh
    import reader.main
    import reader.terminal.flow
    import reader.terminal.link_server
    import reader.terminal.session  # noqa: F401

    before = set(sys.modules)
    gc.collect()
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

"""Firmware of the health card reader (MicroPython package `reader`).

The layers are the subpackages; each imports only from the ones listed above it
(docs/architecture.md; tests/host/test_layers.py checks every import, on-demand ones too):

    reader.crc, reader.hostlink, reader.errors   the shared wire formats and the error base
    reader.chips       chip drivers: PN532 (+ its UART and SPI buses), MFRC522, SAM slot, QR module
    reader.protocols   ISO 14443-3/-4, APDU channels, the card reader of each chip
    reader.cards       the health card, PSAM and QR code applications
    reader.terminal    the flow, blacklist, settings, feedback, host requests, link server
    reader.main        power-on: the self-test, then the terminal and the link side by side

The same package is installed on the host, where the shared definitions (the card item
dictionary, CRC helpers, the host link codec, the blacklist format) are imported by the
`hcterm` tools, so each format is defined once.

Code that leaves RAM after use (the one mechanism; docs/architecture.md, "RAM rules"):
`TRANSIENT` below lists, per subpackage, the modules that may leave. `call(name, function,
*args)` imports one for a call and lets it go after it; `let_go(*names)` lets transient modules
go ("cards": all of that subpackage's), and refuses any other: a resident module let go would
come back as a second copy beside the one its users hold; `hold(name)` keeps one while a
resident object needs its classes (an update spread over requests), `release(name)` ends
that. Names are relative to `reader` ("chips.pn532_control").
"""

VERSION = "0.1.0"

try:
    import micropython  # noqa: F401  (present on every MicroPython port)
except ImportError:
    # CPython on the host: give the shared modules the few `micropython` names they use, so
    # `from micropython import const` works unchanged in both places.
    import sys as _sys
    import types as _types

    _mp = _types.ModuleType("micropython")
    _mp.const = lambda value: value
    _mp.native = _mp.viper = lambda function: function
    _sys.modules["micropython"] = _mp
    del _sys, _types, _mp

# Modules imported for a job and let go after it, by subpackage: the PN532's set-up and
# recovery, the SAM's activation and the QR line reader (while a code is half-read); the whole
# card application between taps and host card requests (reader.cards.psam stays with the
# terminal's SAM session); the terminal's per-tap, per-scan and per-request code. A bytes
# constant read in place ("\n" subpackage, its modules), not a dict of tuples in RAM.
TRANSIENT = (
    b"\nchips pn532_control sam_activation qr_scanner keypad power_down"
    b"\nprotocols bit_rates"
    b"\ncards healthcard healthcard_files healthcard_write healthcard_items healthcard_records"
    b" healthcard_errors idnumber vendor_flow qrcode psam_admin"
    b"\nterminal blacklist blacklist_update blacklist_build blacklist_format1 sm3 sm2 qr_scan"
    b" settings feedback devices selftest requests device_requests card_requests card_writes"
    b" card_visits"
    b" pin_entry battery power"
    b" journal atomic_file"
    b" screens glyphs"
    b"\n"
)
_held = {}      # name -> how many holders keep it


def transient(package):
    """The transient modules of subpackage `package` ("cards"), as a list of names."""
    from reader.errors import table_line

    line = table_line(TRANSIENT, package)
    return line.split() if line else []


def _drop(full):
    """Take module `full` ("reader.x.y") out of sys.modules and its package."""
    import sys

    if sys.modules.pop(full, None) is not None:
        parent, _, leaf = full.rpartition(".")
        package = sys.modules.get(parent)
        if package is not None and leaf in package.__dict__:
            delattr(package, leaf)


def let_go(*names):
    """Let the transient modules `names` leave the heap (their qstrs stay interned); a held
    one stays. A subpackage's name ("cards") stands for all its transient modules.
    ValueError for a module not in TRANSIENT."""
    for name in names:
        package, _, leaf = name.partition(".")
        leaves = transient(package)
        if leaf and leaf not in leaves:
            raise ValueError("reader.%s is not in reader.TRANSIENT" % name)
        for one in (leaf,) if leaf else leaves:
            if package + "." + one not in _held:
                _drop("reader.%s.%s" % (package, one))


def call(name, function, *args):
    """`reader.<name>.<function>(*args)`, the transient module `name` let go after it. For an
    async function the result is its coroutine: the module leaves sys.modules at once, its
    code stays alive with the coroutine and goes with it."""
    try:
        return getattr(__import__("reader." + name, None, None, (function,)), function)(*args)
    finally:
        let_go(name)


def hold(name):
    """Keep transient module `name` in RAM until as many `release(name)`."""
    _held[name] = _held.get(name, 0) + 1


def release(name):
    count = _held.get(name, 0) - 1
    if count > 0:
        _held[name] = count
    else:
        _held.pop(name, None)


def run_once(name, function, *args):
    """For a job done once (the power-on self-test): `call`, then every reader module that
    the job imported leaves too, resident or not: nothing outlives the job to hold them."""
    import sys

    before = set(sys.modules)
    try:
        return getattr(__import__("reader." + name, None, None, (function,)), function)(*args)
    finally:
        for full in [m for m in sys.modules if m not in before and m[:7] == "reader."]:
            _drop(full)

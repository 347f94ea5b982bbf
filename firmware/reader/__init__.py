"""Firmware of the health card reader (MicroPython package `reader`).

The same package is installed on the host, where the shared data definitions (the health
card item dictionary, CRC helpers, the host link codec, the blacklist format) are imported
by the `hcterm` tools, so each format is defined once.
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


def forget(*names):
    """Let submodules `reader.<name>` leave the heap (their qstrs stay interned): both
    sys.modules and this package hold one once imported. For code run once or rarely (the
    self-test, host requests, the card application between taps). Objects of its classes
    still alive keep its code anyway; a module another resident module imported at its top
    must not be forgotten (the next import would make a second copy beside it)."""
    import sys

    for name in names:
        sys.modules.pop("reader." + name, None)
        globals().pop(name, None)


def open_device(board, kind):
    """`reader.hardware.open_<kind>(board)` (kind: card_reader, sam_slot, qr_scanner)
    without keeping reader.hardware in RAM: a device is opened once, its driver stays."""
    from reader import hardware

    try:
        return getattr(hardware, "open_" + kind)(board)
    finally:
        forget("hardware")

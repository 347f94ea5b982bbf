"""argparse `type=` functions: a bad value is an argparse error (exit 2) that names the form."""

import argparse
from pathlib import Path


def heap_size(text):
    """'96k', '131072', '1m' -> the text (VirtualReader takes it as given)."""
    from ..sim.virtualreader import parse_size

    try:
        parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _number(text, convert, fits, expected):
    """`convert(text)` if it parses and `fits`, else an argparse error saying what was
    expected."""
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not fits(value):
        raise argparse.ArgumentTypeError(f"{text!r}: expected {expected}")
    return value


def positive_int(text):
    return _number(text, int, lambda v: v >= 1, "a whole number of at least 1")


def positive_float(text):
    return _number(text, float, lambda v: 0 < v < float("inf"), "a number greater than 0")


def share(text):
    """A fraction 0..1 (0.05: 5 %)."""
    return _number(text, float, lambda v: 0 <= v <= 1, "a share from 0 to 1, e.g. 0.05")


def count(text):
    """A whole number >= 0."""
    return _number(text, int, lambda v: v >= 0, "a whole number of at least 0")


def card(text):
    """A sample card name (adult, 07, card-01-adult-zhang-wei) or an existing card JSON image:
    the image's path (absolute, for a sim running elsewhere)."""
    from ..emulator import load_card
    from ..sim.wiring import WiringError, resolve_card

    try:
        path = resolve_card(text)
    except WiringError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    try:
        load_card(path)
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(
            f"{text!r}: {path} is not a card image ({error}): give a card JSON image or a "
            "sample name (adult, child, 07, …)") from None
    return str(path.resolve())


def qr_text(text):
    """A QR code's text: at most what a QR code holds."""
    from ..sim.wiring import MAX_QR_TEXT

    if not text or len(text) > MAX_QR_TEXT:
        raise argparse.ArgumentTypeError(f"a QR code of {len(text)} characters: give its text, "
                                         f"1 to {MAX_QR_TEXT} characters")
    return text


def flash_image(text):
    """A flash image path whose folder exists (the file itself is made if missing)."""
    folder = Path(text).resolve().parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: the folder {folder} does not exist: create "
                                         "it or give a path in an existing folder")
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder: give a file path for the "
                                         "flash image")
    return text


def sim_boards(text):
    """'sim-pn532-uart,sim-rc522' -> the list; each must be a sim board."""
    from ..sim import boards

    names = [name.strip() for name in text.split(",") if name.strip()]
    sims = boards.sim_names()
    bad = [name for name in names if name not in sims]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"{', '.join(bad) or repr(text)}: not a sim board; choose from {', '.join(sims)} "
            "(comma-separated)")
    return names


def slot(text):
    """card, sam1..sam4, or a national slot number 0x01, 0x11..0x14 -> the text."""
    from reader import hostlink

    try:
        hostlink.slot_name(int(text, 16) if text.lower().startswith("0x") else text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def apdu(text):
    """A command APDU in hex, spaces allowed -> the text."""
    try:
        data = bytes.fromhex(text.replace(" ", ""))
    except ValueError:
        data = b""
    if len(data) < 4:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a command APDU in hex, at least "
                                         "CLA INS P1 P2, e.g. '00A4040000'")
    return text

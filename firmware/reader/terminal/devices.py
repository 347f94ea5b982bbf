"""The drivers a board asks for, built from its board.py: the one place that reads the board
contract (docs/firmware-drivers.md, "Board contract"). Transient: called through
`reader.call("terminal.devices", "open_card_reader", board)` and let go, as a device is opened
once and its driver stays.

    kind, chip = open_reader_chip(board)      # PN532 (UART/SPI) or MFRC522, initialised
    reader = open_card_reader(board)          # the chip + its activation path
    card = reader.poll()                      # Card or None; card.channel.transceive(apdu)
    sam = open_sam_slot(board)                # then chips.sam_activation.power_on(sam)
    qr = open_qr_scanner(board)

The chip drivers and protocols are imported only for the chip the board has, so a board
never pays heap for the others.
"""

import gc

from reader.errors import UNSUPPORTED, ReaderError


class HardwareError(ReaderError):
    """The board's contract names a part this firmware has no driver for."""

    where = "board"

    def __init__(self, message):
        super().__init__(0, kind=UNSUPPORTED, message=message)

DEFAULT_SAM_CLOCK_HZ = 3571200     # 3.5712 MHz: clock/372 = 9600 baud at reset
DEFAULT_SAM_MAX_BAUD = 115200


def open_reader_chip(board):
    """-> (kind, chip): the board's contactless chip driver, woken and initialised."""
    wiring = board.reader_chip()
    kind = wiring[0]
    gc.collect()
    if kind == "pn532-uart":
        from reader.chips.pn532_uart import PN532_UART
        fast = getattr(board, "HSU_MAX_BAUD", 115200)
        return kind, PN532_UART(wiring[1], max_baud=fast)
    if kind == "pn532-spi":
        from reader.chips.pn532_spi import PN532_SPI
        irq = wiring[3] if len(wiring) > 3 else None
        soft_lsb = not getattr(board, "SPI_LSB_FIRST", True)
        return kind, PN532_SPI(wiring[1], wiring[2], irq, soft_lsb=soft_lsb)
    if kind == "rc522":
        from reader.chips.mfrc522 import MFRC522
        chip = MFRC522(wiring[1], wiring[2], wiring[3] if len(wiring) > 3 else None)
        chip.init()
        return kind, chip
    raise HardwareError("board %s: unsupported reader chip %r (pn532-uart, pn532-spi, rc522)"
                        % (board.NAME, kind))


def chip_identity(kind, chip):
    """What the chip says it is, for the self-test report."""
    if kind == "rc522":
        from reader.chips.mfrc522 import VERSIONS
        v = chip.version
        return {"chip": kind, "version_register": "%02X" % v,
                "model": VERSIONS.get(v, "unknown")}
    ic, ver, rev, support = chip.firmware_version()
    return {"chip": kind, "ic": "%02X" % ic, "version": "%d.%d" % (ver, rev),
            "support": support}


def open_card_reader(board):
    """The board's contactless chip with its activation path (PN532Reader, RC522Reader)."""
    kind, chip = open_reader_chip(board)
    if kind == "rc522":
        from reader.protocols.rc522_reader import RC522Reader
        return RC522Reader(kind, chip)
    if kind == "pn532-uart" and chip.max_baud > chip.baudrate:
        chip.set_baudrate(chip.max_baud)
    from reader.protocols.pn532_reader import PN532Reader
    return PN532Reader(kind, chip)


def open_sam_slot(board):
    """The SAM slot (ISO 7816-3, T=0) on the board's SAM UART and RST line; then
    reader.chips.sam_activation.power_on(slot) resets it, reads the ATR and switches to the
    fastest common rate, and reader.protocols.apdu.SAMChannel(slot) carries APDUs."""
    uart, rst = board.sam_slot()
    gc.collect()
    from reader.chips.sam_slot import SAMSlot
    return SAMSlot(uart, rst, clock_hz=getattr(board, "SAM_CLOCK_HZ", DEFAULT_SAM_CLOCK_HZ),
                   max_baud=getattr(board, "SAM_MAX_BAUD", DEFAULT_SAM_MAX_BAUD))


def open_qr_scanner(board):
    """The QR scanner module's line reader on the board's QR UART."""
    uart = board.qr_scanner()
    from reader.chips.qr_scanner import QRScanner
    return QRScanner(uart)

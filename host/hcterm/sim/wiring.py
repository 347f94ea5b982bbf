"""Builds the emulated devices a sim board's wiring.json names, and the things a person does
to them: tap a card on the antenna, take it away, scan a QR code."""

from pathlib import Path

from ..emulator import load_card, samples
from ..emulator.battery import Battery
from ..emulator.keypad import Keypad
from ..emulator.mfrc522 import Mfrc522
from ..emulator.pn532_hsu import Pn532Uart
from ..emulator.pn532_spi import Pn532Spi
from ..emulator.qrscanner import QrScanner
from ..emulator.rf14443 import Picc
from ..emulator.samslot import SamSlot
from ..emulator.ssd1306 import Ssd1306

MAX_QR_TEXT = 4296   # the most characters a QR code holds (version 40, alphanumeric)


class WiringError(ValueError):
    pass


def resolve_card(card):
    """A card image path, or a sample name (`adult`, `card-01-adult-zhang-wei`, `1`)."""
    path = Path(card)
    if path.exists():
        return path
    for sample in samples.paths():
        stem = sample.stem
        number = stem.split("-")[1]
        if card in (stem, number, str(int(number))) or f"-{card}-" in f"{stem}-":
            return sample
    names = ", ".join(p.stem for p in samples.paths())
    raise WiringError(f"no card image {card!r}: it is neither a file nor a sample card name; "
                      f"give a path to a card JSON or a sample: {names}")


class Devices:
    """The emulated hardware of one virtual reader."""

    # wiring.json device kinds of contactless reader chips -> emulator classes
    READER_CHIPS = {"pn532-hsu": Pn532Uart, "pn532-spi": Pn532Spi, "rc522": Mfrc522}

    def __init__(self, wiring, sam=None, model=None):
        """`model`: a WireTiming shared by every device (pace mode: wires in real time)."""
        self.model = model
        self.uarts = {}
        self.spis = {}
        self.i2cs = {}          # bus name -> [I2cDevice]
        self.display = None     # the emulated SSD1306, on a board with a display
        self.field = None
        self.qr = None
        self.sam_slot = None
        self.card = None
        self._picc = None
        self.keypad = None
        self.battery = None
        for bus, kind in wiring.get("uarts", {}).items():
            self.uarts[bus] = self._make(kind, sam)
        for bus, kind in wiring.get("spis", {}).items():
            self.spis[bus] = self._make(kind, sam)
        # GPIO-only devices (lines `<name>.<line>`) and ADC inputs (docs/sim-bus.md)
        self.gpios = {bus: self._make(kind, sam) for bus, kind in wiring.get("gpios", {}).items()}
        self.adcs = {name: self._make(kind, sam) for name, kind in wiring.get("adcs", {}).items()}
        for bus, devices in wiring.get("i2cs", {}).items():
            self.i2cs[bus] = [self._make_i2c(kind, address) for address, kind in devices.items()]

    def _make_i2c(self, kind, address):
        """An I2C device of `kind` at `address` (wiring.json: "0x3c")."""
        if kind != "ssd1306":
            raise WiringError(f"unknown emulated I2C device kind {kind!r} in the board wiring")
        try:
            self.display = Ssd1306(int(address, 16))
        except ValueError as error:
            raise WiringError(f"ssd1306 at {address!r}: {error}") from None
        return self.display

    def _make(self, kind, sam):
        if kind in self.READER_CHIPS:
            device = self.READER_CHIPS[kind](model=self.model)
            self.field = device.field
        elif kind == "sam-slot":
            device = self.sam_slot = SamSlot(sam or samples.sam(), model=self.model)
        elif kind == "qr-scanner":
            device = self.qr = QrScanner(model=self.model)
        elif kind == "keypad-4x4":
            device = self.keypad = Keypad()
        elif kind == "battery":
            device = self.battery = Battery()
        else:
            raise WiringError(f"unknown emulated device kind {kind!r} in the board wiring")
        return device

    # -- what a person does -------------------------------------------------------------
    def tap(self, card):
        """Put a card on the antenna (taking away the one that was there)."""
        if self.field is None:
            raise WiringError("this board has no contactless reader chip")
        path = resolve_card(card)
        try:
            image = load_card(path)
        except (OSError, ValueError) as error:
            raise WiringError(f"{path} is not a card image ({error}): give a card JSON image "
                              "or a sample name") from None
        self.remove()
        self.card = image
        self._picc = Picc(self.card)
        self.field.insert(self._picc)
        return path

    def put_back(self):
        """Put the card that left (a tear fault took it away) on the antenna again, with
        what the tear left on it (a tap would load a fresh copy of its image)."""
        card = self.card
        if card is None:
            raise WiringError("no card to put back: tap one")
        self.remove()
        self.card = card
        self._picc = Picc(card)
        self.field.insert(self._picc)

    def remove(self):
        # a fault may already have taken the card away (tearing): then nothing is left to do
        if self._picc is not None and self.field is not None and self._picc in self.field.cards:
            self.field.remove(self._picc)
        self._picc = None
        self.card = None

    def scan(self, text):
        if self.qr is None:
            raise WiringError("this board has no QR scanner")
        if len(text) > MAX_QR_TEXT:
            raise WiringError(f"a QR code of {len(text)} characters: a QR code holds at most "
                              f"{MAX_QR_TEXT}")
        self.qr.scan(text)

    def press(self, keys):
        """Press keys on the reader's keypad, one after the other (returns when done)."""
        if self.keypad is None:
            raise WiringError("this board has no keypad")
        if not isinstance(keys, str) or not keys:
            raise WiringError("keys: the keys to press as text, e.g. 123456#")
        self.keypad.press(keys)

    def set_battery(self, mv):
        """Set the battery's voltage (mV) that the board's ADC reads through its divider."""
        if self.battery is None:
            raise WiringError("this board has no battery (it is powered from the host)")
        self.battery.set_mv(mv)

    def radio(self, reset=False):
        """The contactless field's polls and modeled radio-on time (rf14443.Field.activity),
        counted afresh from now on with `reset`."""
        return None if self.field is None else self.field.activity(reset)

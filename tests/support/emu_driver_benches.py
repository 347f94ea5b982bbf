"""The emulator's side of the sim bus for the driver integration tests
(tests/firmware/mptest_sim_*.py, `# simbus: support.emu_driver_benches:sim_pn532_uart`).

Each function builds the emulated devices of one sim board from its wiring.json (the same
devices `hcterm sim --board B` serves), taps sample card 1, and adds a "bench" UART through
which the firmware test plays the person and the lab: tap or remove a card, arm a fault on
the reader chip or the SAM, power-cycle the chip, hold a code under the QR scanner. One
command line in, one JSON line out (`{"ok": …}` or `{"error": …}`).

| command                     | effect                                                         |
|-----------------------------|----------------------------------------------------------------|
| `tap NAME` / `remove`       | a sample card on the antenna / taken away                      |
| `fault SPEC`                | `chipfaults.apply_fault_spec` on the chip's faults (`bad_crc=1`) |
| `arm KIND COUNT AFTER [HEX]`| `ChipFaults.arm` with an `after` count (noise before frame 2)  |
| `clear`                     | disarm every chip fault and forget the fault log               |
| `log`                       | the kinds of the faults committed so far                       |
| `powercycle`                | the reader chip loses power (registers, settings, targets gone)|
| `samfault SPEC` or `none`   | `samslot.parse_fault` (`mute`, `slow:N`…) from the next reset  |
| `sam fast` or `default`     | the sample PSAM in the slot: sam-henan-fast.json or sam-henan.json |
| `rates`                     | the card on the antenna's bit rate codes [DR, DS] (0: 106 kbit/s) |
| `scanhex HEX`               | the QR module decodes these bytes (sent with its CR suffix)    |
"""

import json
from pathlib import Path

from hcterm.emulator import samples
from hcterm.emulator.chipfaults import apply_fault_spec
from hcterm.emulator.samslot import SamFaults, parse_fault
from hcterm.sim.wiring import Devices

from .emu_benches import LineBench

BOARDS = Path(__file__).resolve().parents[2] / "boards"


class DriverBench(LineBench):
    def __init__(self, devices, chip):
        super().__init__(devices)
        self.chip = chip

    def _answer(self, words):
        try:
            handler = getattr(self, "_cmd_" + words[0], None)
            if handler is None:
                return {"error": f"unknown bench command {words!r}"}
            return {"ok": handler(*words[1:])}
        except Exception as error:  # noqa: BLE001 - the firmware test shows the reason
            return {"error": f"{type(error).__name__}: {error}"}

    def _cmd_tap(self, name):
        self._forget_left_card()
        return self.devices.tap(name).name

    def _cmd_remove(self):
        self._forget_left_card()
        self.devices.remove()
        return True

    def _forget_left_card(self):
        # A card_removed fault takes the card out of the field behind Devices' back, and
        # Devices.remove() would then fail to remove it again.
        picc = self.devices._picc
        if picc is not None and picc not in self.devices.field.cards:
            self.devices._picc = None

    def _cmd_fault(self, spec):
        apply_fault_spec(self.chip.faults, spec)
        return spec

    def _cmd_arm(self, kind, count, after, arg=None):
        self.chip.faults.arm(kind, int(count), int(after), bytes.fromhex(arg) if arg else None)
        return kind

    def _cmd_clear(self):
        self.chip.faults.clear()
        self.chip.faults.log.clear()
        return True

    def _cmd_log(self):
        return [kind for kind, _arg in self.chip.faults.log]

    def _cmd_powercycle(self):
        core = getattr(self.chip, "core", None)
        if core is not None:          # PN532: LowVbat, asleep, settings and targets lost
            core.power_on()
            core.field.set_rf(False)
        else:                         # MFRC522: registers back to reset values, antenna off
            self.chip.soft_reset()
        return True

    def _cmd_samfault(self, spec):
        self.devices.sam_slot.faults = SamFaults() if spec == "none" else parse_fault(spec)
        return spec

    def _cmd_sam(self, name):
        self.devices.sam_slot.sam = samples.fast_sam() if name == "fast" else samples.sam()
        return name

    def _cmd_rates(self):
        picc = self.devices._picc
        return [picc.dri, picc.dsi]

    def _cmd_scanhex(self, data=""):
        return self.devices.qr.scan(bytes.fromhex(data))


def _board(name, card="1"):
    wiring = json.loads((BOARDS / name / "wiring.json").read_text(encoding="utf-8"))
    devices = Devices(wiring)
    devices.tap(card)
    chip = next(iter(devices.spis.values()), None) or devices.uarts.get("pn532")
    uarts = dict(devices.uarts)
    uarts["bench"] = DriverBench(devices, chip)
    return {"uarts": uarts, "spis": devices.spis}


def sim_pn532_uart():
    """boards/sim-pn532-uart: PN532 on HSU, SAM, QR; card 1 on the antenna; bench."""
    return _board("sim-pn532-uart")


def sim_pn532_spi():
    """boards/sim-pn532-spi: PN532 on SPI with IRQ, SAM, QR; card 1 on the antenna; bench."""
    return _board("sim-pn532-spi")


def sim_rc522():
    """boards/sim-rc522: MFRC522 on an MSB-only SPI, SAM, QR; card 1 on the antenna; bench."""
    return _board("sim-rc522")

"""The emulator's side of the sim bus for firmware tests: wirings of emulated devices.

An mptest module names one in its first lines: `# simbus: support.emu_benches:loopback`;
tests/conftest.py starts a SimBus with what the function returns and points $HCTERM_SIM_DIR
at it.
"""

import json
from pathlib import Path

from hcterm.emulator.bus_device import UartDevice
from hcterm.sim.loopback import LoopbackSpi, LoopbackUart


class Recorder(UartDevice):
    """Keeps what the firmware wrote and answers nothing."""

    def __init__(self):
        super().__init__()
        self.received = bytearray()

    def on_receive(self, data):
        self.received += data


def loopback():
    return {"uarts": {"loop": LoopbackUart(), "silent": Recorder()},
            "spis": {"loop": LoopbackSpi()}}


# -- health card application tests (tests/firmware/mptest_healthcard*.py, mptest_psam.py) --

class LineBench(UartDevice):
    """A test operator on a UART: one command line in (words), one JSON line out, the answer
    of the subclass's `_answer(words)` (`{"ok": …}` or `{"error": …}`)."""

    def __init__(self, devices):
        super().__init__()
        self.devices = devices
        self._line = bytearray()

    def on_receive(self, data):
        self._line += data
        while b"\n" in self._line:
            line, _, rest = bytes(self._line).partition(b"\n")
            self._line = bytearray(rest)
            self.send(json.dumps(self._answer(line.decode().split())).encode() + b"\n")


class Bench(LineBench):
    """The test operator on UART "bench": one command line in, one answer line out.

    `tap NAME` puts a sample card on the antenna (a fresh copy of its image), `remove` takes
    it away, `gbk NAME` answers the sample's AN items as hex of their GBK bytes (JSON: field ->
    hex), which MicroPython cannot encode itself, `file NAME PATH` the sample image's entry of
    one file (the whole image is too big for a small heap), `photo NAME` the length and SHA-256
    of the sample's JPEG; `tear N` arms the field's card_removed fault (the card processes
    N + 1 more frames and leaves before its answer to the last one), `putback` puts the card
    that left (its data as the tear left it) on the antenna again, `clear` disarms the faults.
    Answers are JSON lines; errors {"error"}."""

    def _answer(self, words):
        try:
            if words[0] == "tap":
                return {"ok": str(self.devices.tap(words[1]).name)}
            if words[0] == "remove":
                self.devices.remove()
                return {"ok": True}
            if words[0] == "gbk":
                return self._gbk(words[1])
            if words[0] == "photo":
                return self._photo(words[1])
            if words[0] == "file":
                return self._file(words[1], words[2])
            if words[0] in ("tear", "putback", "clear"):
                return self._tear(words)
        except Exception as error:  # noqa: BLE001 - the firmware test shows the reason
            return {"error": f"{type(error).__name__}: {error}"}
        return {"error": f"unknown bench command {words!r}"}

    def _tear(self, words):
        devices = self.devices
        if words[0] == "tear":
            devices.field.faults.card_removed_after(int(words[1]))
        elif words[0] == "clear":
            devices.field.faults.clear()
        else:
            devices.put_back()
        return {"ok": True}

    @staticmethod
    def _file(card, path):
        from hcterm.sim.wiring import resolve_card

        image = json.loads(resolve_card(card).read_text(encoding="utf-8"))
        return {"ok": image["files"][path]}

    @staticmethod
    def _photo(card):
        import base64
        import hashlib

        from hcterm.sim.wiring import resolve_card

        image = json.loads(resolve_card(card).read_text(encoding="utf-8"))
        jpeg = base64.b64decode(image["files"]["DDF1/EF07"]["jpeg_base64"])
        return {"length": len(jpeg), "sha256": hashlib.sha256(jpeg).hexdigest()}

    @staticmethod
    def _gbk(card):
        from hcterm.sim.wiring import resolve_card
        from reader.cards import healthcard_items as hi

        image = json.loads(resolve_card(card).read_text(encoding="utf-8"))
        out = {}
        for item in hi.ITEMS:
            value = image["files"].get(item[0], {}).get(item[5])
            if item[3] == hi.AN and isinstance(value, str):
                out[item[5]] = value.encode("gbk").hex().upper()
        for path in ("DF02/EF07", "DF02/EF08"):
            out[path] = [{k: (v.encode("gbk").hex().upper() if k in ("GMWZMC", "GMFY",
                                                                      "MYJZMC") else v)
                          for k, v in entry.items()} for entry in image["files"][path]]
        for path, entry in image["files"].items():
            if path.startswith("DF03/E") and entry and "text" in entry:
                out[path] = entry["text"].encode("gbk").hex().upper()
        return out


def _health_bench(sam=None):
    from hcterm.sim.wiring import Devices

    wiring_path = Path(__file__).resolve().parents[2] / "boards" / "sim-pn532-uart" / "wiring.json"
    with open(wiring_path, encoding="utf-8") as f:
        devices = Devices(json.load(f), sam=sam)
    devices.tap("adult")
    uarts = dict(devices.uarts)
    uarts["bench"] = Bench(devices)
    return {"uarts": uarts, "spis": devices.spis}


def health_card():
    """The sim-pn532-uart board's devices with the Henan SAM, the adult sample tapped, and
    the "bench" UART to tap other samples."""
    return _health_bench()


def health_card_foreign_sam():
    """The same, with a SAM of another province (Sichuan) in the slot."""
    from hcterm.emulator import samples

    return _health_bench(sam=samples.foreign_sam())


def health_card_pin_sam():
    """The same, with the samples' issuer SAM that wants VERIFY PIN 123456 first."""
    from hcterm.emulator import samples

    return _health_bench(sam=samples.pin_sam())

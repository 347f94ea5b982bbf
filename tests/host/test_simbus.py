"""The CPython side of the sim bus, seen from the firmware test that just ran against it."""

import os
import subprocess

from support.micropython_path import MICROPYPATH

from hcterm.emulator.bus_device import UartDevice
from hcterm.mpy import micropython_command
from hcterm.sim.bus import SimBus
from hcterm.sim.loopback import LoopbackSpi, LoopbackUart

SCRIPT = """
from simhal import UART, Pin, record
from simspi import SPI, ChipSelect
u = UART("pn532", 115200, timeout=200)
u.init(baudrate=230400)
spi = SPI("chip", 1000000)
cs = ChipSelect(spi)
cs(0); cs(1)
Pin("pn532.rst", Pin.OUT, value=0)
Pin("led", Pin.OUT, value=1)
record("beep", pattern="ok")
print(Pin("pn532.irq", Pin.IN).value())
"""


class Lines(UartDevice):
    def __init__(self):
        super().__init__()
        self.seen = []
        self.set_line("irq", 0)

    def on_line(self, name, value):
        self.seen.append((name, value))

    def on_host_baudrate(self, baudrate):
        self.seen.append(("baud", baudrate))


def test_firmware_objects_drive_devices_and_records(tmp_path):
    device, spi = Lines(), LoopbackSpi()
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    with SimBus(tmp_path / "bus", uarts={"pn532": device}, spis={"chip": spi}) as bus:
        env = dict(os.environ, MICROPYPATH=MICROPYPATH, HCTERM_SIM_DIR=bus.directory)
        proc = subprocess.run(micropython_command(script), env=env, capture_output=True,
                              text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout.strip() == "0"  # the device drives its IRQ line low
    assert device.seen == [("baud", 115200), ("baud", 230400), ("rst", 0)]
    assert spi.selects == 1
    kinds = [(r["kind"], r.get("name"), r.get("pattern")) for r in bus.records]
    assert kinds == [("pin", "led", None), ("beep", None, "ok")]


def test_bus_refuses_wrong_device_types(tmp_path):
    try:
        SimBus(tmp_path, uarts={"x": LoopbackSpi()})
    except TypeError as error:
        assert "not a UartDevice" in str(error)
    else:
        raise AssertionError("accepted an SPI device as a UART")


def test_control_errors_are_specific(tmp_path):
    bus = SimBus(tmp_path, uarts={"loop": LoopbackUart()})
    assert "no UART named 'qr'" in bus.control({"op": "baud", "uart": "qr", "baud": 9600})["error"]
    assert "unknown control op" in bus.control({"op": "frobnicate"})["error"]

"""Wirings of emulated devices for firmware tests that need the sim bus.

An mptest module names one in its first lines: `# simbus: simbeds:loopback`; tests/conftest.py
starts a SimBus with what the function returns and points $HCTERM_SIM_DIR at it.
"""

from hcterm.sim.devices import LoopbackSpi, LoopbackUart, UartDevice


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

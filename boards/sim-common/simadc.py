# Sim board HAL: an ADC input on the control channel (docs/sim-bus.md, "Control": op adc),
# e.g. a handheld's battery divider. A module of its own (as simspi.py), so the boards
# without one do not keep its class in RAM.
from simhal import _Control


class ADC:
    """`read_uv()`: the pin's voltage in microvolts, as machine.ADC.read_uv() on a board."""

    def __init__(self, name):
        self.name = name

    def read_uv(self):
        return _Control.request({"op": "adc", "name": self.name})["uv"]

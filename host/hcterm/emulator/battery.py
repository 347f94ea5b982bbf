"""An emulated battery on an ADC pin through a voltage divider (docs/sim-bus.md, "ADC").

A handheld's Li-ion cell (3.0-4.2 V) is too high for the MCU's ADC (ESP32-S3: up to ~3.1 V
with 11 dB attenuation), so the board reads it through a divider of two equal resistors: the
pin sees half the cell's voltage. `adc_uv()` is what the board's ADC reads at the pin, in
microvolts; `set_mv()` is what a person (or a test) does to the cell: `hcterm battery --mv`.
"""

MIN_MV, MAX_MV = 2500, 4500    # what a cell on this board can show (beyond: a wiring fault)


class BatteryError(ValueError):
    pass


class Battery:
    def __init__(self, mv=3900, divider=2):
        self.divider = divider
        self.mv = 0
        self.set_mv(mv)

    def set_mv(self, mv):
        if not isinstance(mv, int) or isinstance(mv, bool) or not MIN_MV <= mv <= MAX_MV:
            raise BatteryError(f"battery voltage {mv!r} mV: give whole millivolts, "
                               f"{MIN_MV}-{MAX_MV} (a Li-ion cell: 3300 empty, 4200 full)")
        self.mv = mv

    def adc_uv(self):
        return self.mv * 1000 // self.divider

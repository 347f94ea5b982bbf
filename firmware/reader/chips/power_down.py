"""The reader chip's power-down between polls (chip layer), for low-power polling
(reader.terminal.power). Transient: `reader.call("chips.power_down", "sleep", kind, chip)`
and `... "wake" ...`, `kind` being the board's reader chip kind (board contract).

PN532 (UM0701 §7.2.11, PowerDown `D4 16 WakeUpEnable`): the wake-up source is the host
interface the chip is on (HSU `10`, SPI `20`); the chip answers `D5 17 00`, switches the RF
field off (targets are released) and sleeps, keeping its settings (SetParameters,
RFConfiguration, the HSU rate). Woken by the driver's own wake-up: on HSU `55 55` and zeros
(PN532_UART._wakeup), then the oscillator's start-up time before the next command; on SPI
a chip-select pulse (PN532_SPI._wakeup, which waits for it).

MFRC522 (data sheet §8.6.2, CommandReg bit 4 PowerDown): set, the oscillator and the antenna
drivers stop (registers and FIFO are kept); cleared, the chip is awake once the bit reads 0
again (1024 clocks, ~76 µs), the antenna on as TxControl says; a card in the field then
needs its power-up time (ISO 14443-3: 5 ms) before the first frame.
"""

import time

from micropython import const

from reader.errors import CHIP, ReaderError

_POWER_DOWN = const(0x16)
_WAKE_HSU = const(0x10)
_WAKE_SPI = const(0x20)
_OSC_START_MS = const(2)     # PN532: oscillator start after the HSU wake-up bytes
_RC522_COMMAND = const(0x01)
_RC522_POWER_DOWN = const(0x10)
_RC522_WAKE_MS = const(5)    # the wake-up (~76 µs) is polled for this long at most
_CARD_POWER_UP_MS = const(5)


def sleep(kind, chip):
    """Put the chip into power-down (its field off)."""
    if kind == "rc522":
        chip.write(_RC522_COMMAND, _RC522_POWER_DOWN)
        return
    wake = _WAKE_SPI if kind == "pn532-spi" else _WAKE_HSU
    chip._call_status(_POWER_DOWN, bytes((wake,)))


def wake(kind, chip):
    """Wake the chip for the next command; ReaderError (kind chip) if an MFRC522 stays
    asleep."""
    if kind != "rc522":
        chip._wakeup()
        if kind == "pn532-uart":
            time.sleep_ms(_OSC_START_MS)
        return
    chip.write(_RC522_COMMAND, 0)
    start = time.ticks_ms()
    while chip.read(_RC522_COMMAND) & _RC522_POWER_DOWN:
        if time.ticks_diff(time.ticks_ms(), start) > _RC522_WAKE_MS:
            raise ReaderError(0, "", CHIP, "the MFRC522 did not leave soft power-down "
                              "within %d ms: check its supply" % _RC522_WAKE_MS)
        time.sleep_ms(0)
    time.sleep_ms(_CARD_POWER_UP_MS)

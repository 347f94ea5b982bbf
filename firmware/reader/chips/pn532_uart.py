"""PN532 over HSU (UART): only the bus. Frames and commands are in pn532.PN532.

Wake-up: `55 55` then zeros (the chip leaves LowVbat/PowerDown on the 55s and needs the
zeros as time to start its oscillator), then SAMConfiguration. The ACK comes a few ms after
the command; the wait (PN532.ack_timeout_ms) here adds the command's own time on the wire.
"""

import time

import reader
from reader.chips.pn532 import CONTROL, PN532

_WAKEUP = b"\x55\x55" + bytes(14)


class PN532_UART(PN532):
    # waits for the chip's ACK and answer poll the UART this often: 1 ms steps lost ~0.5 ms
    # per wait, two waits per command, ~7 ms of a tap at 921 600 baud (docs/bench-tap.md)
    poll_interval_us = 200

    def __init__(self, uart, baudrate=115200, wake=True, max_baud=115200):
        super().__init__()
        self.uart = uart
        self.baudrate = baudrate
        self.max_baud = max_baud  # the board's HSU_MAX_BAUD: SetSerialBaudrate's target
        self._sent = 0
        self._scratch = bytearray(32)
        if wake:
            self._wakeup()
            self.sam_configuration()

    def set_baudrate(self, baud):
        """SetSerialBaudrate and the UART, with its fall back (chips.pn532_control)."""
        return reader.call(CONTROL, "set_baudrate", self, baud)

    def _wakeup(self):
        self.uart.write(_WAKEUP)
        self._sent = 0

    def _send(self, frame):
        self.uart.write(frame)
        self._sent = len(frame)

    def _wait_ack(self, command):
        # count the bytes still leaving the UART on top of the chip's ACK time
        extra = (self._sent * 10000) // self.baudrate + 1
        n = self._read_frame(self.ack_timeout_ms + extra, command)
        return n == 0

    def _ready(self, timeout_ms):
        uart = self.uart
        start = time.ticks_ms()
        while not uart.any():
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                return False
            time.sleep_us(self.poll_interval_us)
        return True

    def _recv(self, mv, timeout_ms):
        uart = self.uart
        want = len(mv)
        got = uart.readinto(mv) or 0
        if got == want:
            return True
        start = time.ticks_ms()
        while got < want:
            n = uart.readinto(mv[got:]) or 0
            got += n
            if not n:
                if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                    return False
                time.sleep_ms(1)
        return True

    def _drain(self):
        # until the line has been quiet for 2 ms: the end of a frame may still be arriving
        uart = self.uart
        quiet = 0
        while quiet < 2:
            if uart.any():
                uart.readinto(self._scratch)
                quiet = 0
            else:
                quiet += 1
                time.sleep_ms(1)

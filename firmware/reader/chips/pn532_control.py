"""PN532 set-up, diagnostics and recovery: SAMConfiguration, RFConfiguration (field,
retries, timeouts), SetParameters, InDeselect, SetSerialBaudrate (HSU), and the recovery that
wakes the chip and replays the settings (on HSU at the driver's rate, then at the other one
of 115200 and the board's HSU_MAX_BAUD: a chip reset since, or a firmware restarted while the
chip kept its fast rate). Functions of a `reader.chips.pn532.PN532`, whose methods of the same
names call them through `reader.call`: this module is in RAM only for the call, as a reader
that polls and exchanges APDUs needs none of it.
"""


import time

from reader.errors import ReaderError

_ACK = b"\x00\x00\xff\x00\xff\x00"

# SetSerialBaudrate BR 00-08 (a tuple built at import: this module is in RAM for a call only)
_RATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000)


def _remember(chip, command, params):
    if not chip._recovering:
        chip._settings[(command, params[0]) if command == 0x32 else command] = \
            (command, bytes(params))


def recover(chip):
    """The chip stopped answering: wake it, re-run SAMConfiguration, replay settings."""
    chip._recovering = True
    chip.recoveries += 1
    try:
        try:
            _restart(chip)
        except ReaderError:
            other = _other_baud(chip)
            if not other:
                raise
            _uart_rate(chip, other)
            _restart(chip)
    finally:
        chip._recovering = False


def _restart(chip):
    chip._drain()
    chip._wakeup()
    sam_configuration(chip)
    for command, params in chip._settings.values():
        chip.call(command, params)


def _other_baud(chip):
    fast = getattr(chip, "max_baud", 0)
    if not fast or fast == 115200:
        return 0
    return 115200 if chip.baudrate != 115200 else fast


def _uart_rate(chip, baud):
    chip.uart.init(baudrate=baud)
    chip.baudrate = baud


def set_baudrate(chip, baud):
    """HSU: SetSerialBaudrate to `baud` (9600 … 1288000), the MCU's UART after the chip's
    answer and our ACK of it (the chip switches on that ACK), then GetFirmwareVersion at the
    new rate. A chip that does not answer there: back to the old rate (it never switched),
    else PN532Error. -> the rate in use"""
    old = chip.baudrate
    if baud == old or baud not in _RATES:
        return old
    chip.call(0x10, bytes((_RATES.index(baud),)))
    chip._send(_ACK)
    time.sleep_ms(5)          # the ACK on the wire and the chip's switch
    if _answers_at(chip, baud) is None:
        return baud
    error = _answers_at(chip, old)
    if error is None:
        return old
    raise error


def _answers_at(chip, baud):
    """None when the chip answers GetFirmwareVersion at `baud`, else the error."""
    _uart_rate(chip, baud)
    chip._recovering = True   # no recovery inside: silence is the answer here
    try:
        chip._drain()
        chip.call(0x02)
        return None
    except ReaderError as error:
        return error
    finally:
        chip._recovering = False


def sam_configuration(chip, mode=1, timeout=0x14, irq=1):
    """Normal mode (no SAM behind the PN532); the first command after wake-up."""
    chip.call(0x14, bytes((mode, timeout, irq)))


def rf_configuration(chip, item, data):
    params = bytes((item,)) + bytes(data)
    _remember(chip, 0x32, params)
    chip.call(0x32, params)


def rf_field(chip, on):
    rf_configuration(chip, 0x01, (0x01 if on else 0x00,))


def set_retries(chip, atr=0xFF, psl=0x01, passive=0x02):
    """MxRtyATR, MxRtyPSL, MxRtyPassiveActivation (0xFF = forever: never use for polling)."""
    rf_configuration(chip, 0x05, (atr, psl, passive))


def set_max_retry_com(chip, n):
    rf_configuration(chip, 0x04, (n,))


def set_timeouts(chip, atr_res=0x0B, retry=0x0A):
    """Item 02 codes: timeout = 100 us * 2^(code-1) (code 0 = none, 0x10 = 3.28 s)."""
    rf_configuration(chip, 0x02, (0x00, atr_res, retry))


def set_parameters(chip, flags):
    """SetParameters: 0x10 AutoRATS, 0x04 AutoATR_RES, 0x02 DID, 0x01 NAD, 0x20 PICC."""
    params = bytes((flags,))
    _remember(chip, 0x12, params)
    chip.call(0x12, params)


def deselect(chip, tg=0):
    chip._call_status(0x44, bytes((tg,)))

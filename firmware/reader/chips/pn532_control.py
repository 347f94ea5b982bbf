"""PN532 set-up, diagnostics and recovery: SAMConfiguration, RFConfiguration (field,
retries, timeouts), SetParameters, InDeselect, and the recovery that wakes the chip and
replays the settings. Functions of a `reader.chips.pn532.PN532`, whose methods of the same
names call them through `reader.call`: this module is in RAM only for the call, as a reader
that polls and exchanges APDUs needs none of it.
"""


def _remember(chip, command, params):
    if not chip._recovering:
        chip._settings[(command, params[0]) if command == 0x32 else command] = \
            (command, bytes(params))


def recover(chip):
    """The chip stopped answering: wake it, re-run SAMConfiguration, replay settings."""
    chip._recovering = True
    chip.recoveries += 1
    try:
        chip._drain()
        chip._wakeup()
        sam_configuration(chip)
        for command, params in chip._settings.values():
            chip.call(command, params)
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

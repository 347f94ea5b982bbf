"""The `micropython` binary's module search path for the tests (MICROPYPATH): the firmware
tests (the harness imports the module under test by name), their helpers
(tests/firmware/support/README.md), the firmware, the shared sim board HAL. One definition,
for tests/conftest.py and the host tests that start micropython themselves."""

import os
from pathlib import Path

from hcterm.mpy import BOARDS_DIR, FIRMWARE_DIR

FIRMWARE_TESTS = Path(__file__).resolve().parent.parent / "firmware"
FIRMWARE_SUPPORT = FIRMWARE_TESTS / "support"
MICROPYPATH = os.pathsep.join(
    # ".frozen": the port's frozen modules (asyncio), which a set MICROPYPATH would drop
    [".frozen", str(FIRMWARE_TESTS), str(FIRMWARE_SUPPORT), str(FIRMWARE_DIR),
     str(BOARDS_DIR / "sim-common")]
)

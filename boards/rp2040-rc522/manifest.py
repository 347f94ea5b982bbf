# Freeze into an rp2 MicroPython build this board's pin table and only the firmware modules
# it runs:
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=$PWD/boards/rp2040-rc522/manifest.py
# The firmware modules every board freezes are firmware/manifest.py's; this adds the ones of
# this board's chip. tests/host/test_manifests.py checks the sum against the firmware's imports
# (hcterm.firmware_modules): a module added or dropped there shows up as missing or extra.
metadata(description="Health card reader: RP2040 + MFRC522 + SAM + QR", version="0.1.0")
include("$(PORT_DIR)/boards/manifest.py")
include("../../firmware/manifest.py")

# the MFRC522: its driver, and its card reader, which runs ISO 14443-3 activation and T=CL
# (ISO 14443-4) in the firmware, as the chip does neither. No PN532 module.
module("reader/chips/mfrc522.py", base_path="../../firmware", opt=3)
module("reader/protocols/iso14443_3.py", base_path="../../firmware", opt=3)
module("reader/protocols/iso14443_4.py", base_path="../../firmware", opt=3)
module("reader/protocols/rc522_reader.py", base_path="../../firmware", opt=3)

# the board: its pin table and the main.py every real board runs
module("board.py", opt=3)
module("main.py", base_path="..", opt=3)
module("watchdog.py", base_path="..", opt=3)

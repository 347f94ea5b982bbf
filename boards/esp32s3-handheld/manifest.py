# Freeze into an ESP32-S3 MicroPython build this board's pin table and only the firmware modules
# it runs:
#   make -C ports/esp32 BOARD=ESP32_GENERIC_S3 FROZEN_MANIFEST=$PWD/boards/esp32s3-handheld/manifest.py
# The firmware modules every board freezes are firmware/manifest.py's; this adds the ones of
# this board's chip. tests/host/test_manifests.py checks the sum against the firmware's imports
# (hcterm.firmware_modules): a module added or dropped there shows up as missing or extra.
metadata(description="Health card handheld: ESP32-S3 + PN532 (HSU) + SAM + QR", version="0.1.0")
include("$(PORT_DIR)/boards/manifest.py")
include("../../firmware/manifest.py")

# the PN532 on HSU: the chip's command set (pn532), its UART bus (pn532_uart), its set-up and
# recovery (pn532_control, imported for each call through reader.call), and its card reader
# (the chip runs ISO-DEP itself). Not pn532_raw_frames (tools and tests only) nor the
# MFRC522's modules.
module("reader/chips/pn532.py", base_path="../../firmware", opt=3)
module("reader/chips/pn532_control.py", base_path="../../firmware", opt=3)
module("reader/chips/pn532_uart.py", base_path="../../firmware", opt=3)
module("reader/protocols/pn532_reader.py", base_path="../../firmware", opt=3)

# the display's driver: micropython-lib's SSD1306 (framebuf-based, I2C and SPI)
require("ssd1306")

# the board: its pin table and the main.py every real board runs
module("board.py", opt=3)
module("main.py", base_path="..", opt=3)
module("watchdog.py", base_path="..", opt=3)
# the wiring this board shares with the other ESP32-S3 reader with a PN532 on HSU
module("esp32s3_pn532_hsu.py", base_path="..", opt=3)

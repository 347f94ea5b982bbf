# Freeze the reader firmware and this board's pin table into an ESP32 MicroPython build:
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=$PWD/boards/esp32-pn532-spi/manifest.py
metadata(description="Health card reader: ESP32 + PN532 (SPI) + SAM + QR", version="0.1.0")
include("$(PORT_DIR)/boards/manifest.py")
package("reader", base_path="../../firmware", opt=3)
module("board.py", opt=3)
module("main.py", base_path="..", opt=3)

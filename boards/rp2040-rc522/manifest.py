# Freeze the reader firmware and this board's pin table into an rp2 MicroPython build:
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=$PWD/boards/rp2040-rc522/manifest.py
metadata(description="Health card reader: RP2040 + MFRC522 + SAM + QR", version="0.1.0")
include("$(PORT_DIR)/boards/manifest.py")
package("reader", base_path="../../firmware", opt=3)
module("board.py", opt=3)
module("main.py", base_path="..", opt=3)

# Freeze into an ESP32-S3 MicroPython build this board's pin table and only the firmware modules
# it runs:
#   make -C ports/esp32 BOARD=ESP32_GENERIC_S3 FROZEN_MANIFEST=$PWD/boards/esp32-pn532-uart/manifest.py
# One module() per file, frozen under its package path (reader/chips/pn532.py imports as
# reader.chips.pn532): what reader.main and board.py import, directly, inside functions or
# through reader.call, for this board's chip. tests/host/test_manifests.py checks the list
# against the firmware's imports (hcterm.firmware_modules), so a module added or dropped
# there shows up as missing or extra here.
metadata(description="Health card reader: ESP32-S3 + PN532 (HSU) + SAM + QR", version="0.1.0")
include("$(PORT_DIR)/boards/manifest.py")

# the package root: the RAM mechanism (reader.call, TRANSIENT), the shared wire formats
# (CRCs, the host link codec), the error base
module("reader/__init__.py", base_path="../../firmware", opt=3)
module("reader/crc.py", base_path="../../firmware", opt=3)
module("reader/errors.py", base_path="../../firmware", opt=3)
module("reader/hostlink.py", base_path="../../firmware", opt=3)

# chips: the PN532 on HSU (pn532 + its bus driver pn532_uart; pn532_control, its set-up
# and recovery, imported for each call through reader.call), the SAM slot and its activation,
# the QR module. Not pn532_raw_frames (tools and tests only) nor the other chips' drivers.
module("reader/chips/__init__.py", base_path="../../firmware", opt=3)
module("reader/chips/pn532.py", base_path="../../firmware", opt=3)
module("reader/chips/pn532_control.py", base_path="../../firmware", opt=3)
module("reader/chips/pn532_uart.py", base_path="../../firmware", opt=3)
module("reader/chips/qr_scanner.py", base_path="../../firmware", opt=3)
module("reader/chips/sam_activation.py", base_path="../../firmware", opt=3)
module("reader/chips/sam_slot.py", base_path="../../firmware", opt=3)

# protocols: the APDU channels and the PN532's card reader (the chip runs ISO-DEP itself)
module("reader/protocols/__init__.py", base_path="../../firmware", opt=3)
module("reader/protocols/apdu.py", base_path="../../firmware", opt=3)
module("reader/protocols/pn532_reader.py", base_path="../../firmware", opt=3)

# cards: the health card (its items, records, files, writes, errors), the citizen ID check,
# the PSAM and its administration, the QR code parser, and vendor_flow (the `flow: reference`
# setting: every board can be switched to it)
module("reader/cards/__init__.py", base_path="../../firmware", opt=3)
module("reader/cards/healthcard.py", base_path="../../firmware", opt=3)
module("reader/cards/healthcard_errors.py", base_path="../../firmware", opt=3)
module("reader/cards/healthcard_files.py", base_path="../../firmware", opt=3)
module("reader/cards/healthcard_items.py", base_path="../../firmware", opt=3)
module("reader/cards/healthcard_records.py", base_path="../../firmware", opt=3)
module("reader/cards/healthcard_write.py", base_path="../../firmware", opt=3)
module("reader/cards/idnumber.py", base_path="../../firmware", opt=3)
module("reader/cards/psam.py", base_path="../../firmware", opt=3)
module("reader/cards/psam_admin.py", base_path="../../firmware", opt=3)
module("reader/cards/qrcode.py", base_path="../../firmware", opt=3)
module("reader/cards/vendor_flow.py", base_path="../../firmware", opt=3)

# terminal: the flow, blacklist, settings, feedback, devices (opens this board's chip), the
# self-test, and the host link (server, session, requests)
module("reader/terminal/__init__.py", base_path="../../firmware", opt=3)
module("reader/terminal/blacklist.py", base_path="../../firmware", opt=3)
module("reader/terminal/card_requests.py", base_path="../../firmware", opt=3)
module("reader/terminal/card_writes.py", base_path="../../firmware", opt=3)
module("reader/terminal/device_requests.py", base_path="../../firmware", opt=3)
module("reader/terminal/devices.py", base_path="../../firmware", opt=3)
module("reader/terminal/feedback.py", base_path="../../firmware", opt=3)
module("reader/terminal/flow.py", base_path="../../firmware", opt=3)
module("reader/terminal/link_server.py", base_path="../../firmware", opt=3)
module("reader/terminal/qr_scan.py", base_path="../../firmware", opt=3)
module("reader/terminal/requests.py", base_path="../../firmware", opt=3)
module("reader/terminal/selftest.py", base_path="../../firmware", opt=3)
module("reader/terminal/session.py", base_path="../../firmware", opt=3)
module("reader/terminal/settings.py", base_path="../../firmware", opt=3)

# the entry point, then the board: its pin table and the main.py every real board runs
module("reader/main.py", base_path="../../firmware", opt=3)
module("board.py", opt=3)
module("main.py", base_path="..", opt=3)

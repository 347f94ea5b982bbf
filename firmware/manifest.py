# The firmware modules every board freezes, whatever its reader chip: the package root, the
# SAM slot and the QR module, the APDU channels, the card applications, the terminal and the
# entry point. A board's manifest.py includes this and adds its chip's modules (its driver and
# card reader); tests/host/test_manifests.py checks the sum against the firmware's imports
# (hcterm.firmware_modules). One module() per file, frozen under its package path
# (reader/chips/sam_slot.py imports as reader.chips.sam_slot).

# the package root: the RAM mechanism (reader.call, TRANSIENT), the shared wire formats
# (CRCs, the host link codec), the error base
module("reader/__init__.py", opt=3)
module("reader/crc.py", opt=3)
module("reader/errors.py", opt=3)
module("reader/hostlink.py", opt=3)

# chips every board has: the SAM slot and its activation, the QR module's line reader; the
# keypad driver and the chip power-down (imported only on boards with a keypad / low-power
# polling: frozen everywhere, in RAM nowhere else)
module("reader/chips/__init__.py", opt=3)
module("reader/chips/keypad.py", opt=3)
module("reader/chips/power_down.py", opt=3)
module("reader/chips/qr_scanner.py", opt=3)
module("reader/chips/sam_activation.py", opt=3)
module("reader/chips/sam_slot.py", opt=3)

# protocols: the APDU channels, the ISO 14443-4 bit rates (either chip's reader)
module("reader/protocols/__init__.py", opt=3)
module("reader/protocols/apdu.py", opt=3)
module("reader/protocols/bit_rates.py", opt=3)

# cards: the health card (its items, records, files, writes, errors), the citizen ID check,
# the PSAM and its administration, the QR code parser, and vendor_flow (the `flow: reference`
# setting: every board can be switched to it)
module("reader/cards/__init__.py", opt=3)
module("reader/cards/healthcard.py", opt=3)
module("reader/cards/healthcard_errors.py", opt=3)
module("reader/cards/healthcard_files.py", opt=3)
module("reader/cards/healthcard_items.py", opt=3)
module("reader/cards/healthcard_records.py", opt=3)
module("reader/cards/healthcard_write.py", opt=3)
module("reader/cards/idnumber.py", opt=3)
module("reader/cards/psam.py", opt=3)
module("reader/cards/psam_admin.py", opt=3)
module("reader/cards/qrcode.py", opt=3)
module("reader/cards/vendor_flow.py", opt=3)

# terminal: the flow, blacklist (its store, builder, updates with their SM2/SM3 signature
# check, format 1 still read), settings, the one-step file replace they and the journal use,
# feedback, devices (opens the board's chip), the self-test, and the host link (server,
# session, requests); the screens and their font reader (imported only on a board with a
# display: frozen everywhere, in RAM only there)
module("reader/terminal/__init__.py", opt=3)
module("reader/terminal/atomic_file.py", opt=3)
module("reader/terminal/battery.py", opt=3)
module("reader/terminal/blacklist.py", opt=3)
module("reader/terminal/blacklist_build.py", opt=3)
module("reader/terminal/blacklist_format1.py", opt=3)
module("reader/terminal/blacklist_update.py", opt=3)
module("reader/terminal/card_requests.py", opt=3)
module("reader/terminal/card_writes.py", opt=3)
module("reader/terminal/card_visits.py", opt=3)
module("reader/terminal/journal.py", opt=3)
module("reader/terminal/device_requests.py", opt=3)
module("reader/terminal/devices.py", opt=3)
module("reader/terminal/feedback.py", opt=3)
module("reader/terminal/flow.py", opt=3)
module("reader/terminal/glyphs.py", opt=3)
module("reader/terminal/link_server.py", opt=3)
module("reader/terminal/pin_entry.py", opt=3)
module("reader/terminal/power.py", opt=3)
module("reader/terminal/qr_scan.py", opt=3)
module("reader/terminal/requests.py", opt=3)
module("reader/terminal/screens.py", opt=3)
module("reader/terminal/selftest.py", opt=3)
module("reader/terminal/session.py", opt=3)
module("reader/terminal/settings.py", opt=3)
module("reader/terminal/sm2.py", opt=3)
module("reader/terminal/sm3.py", opt=3)

# the entry point
module("reader/main.py", opt=3)

# firmware: romfs
# The firmware imports in place from the ROMFS image (as frozen bytecode on a board).
import gc


def test_firmware_modules_come_from_the_rom_image():
    import reader.chips.pn532_uart
    import reader.crc
    assert reader.crc.__file__ == "/rom/reader/crc.mpy", reader.crc.__file__
    assert reader.chips.pn532_uart.__file__ == "/rom/reader/chips/pn532_uart.mpy"
    assert reader.crc.crc_a_bytes(b"\x50\x00") == b"\x57\xCD"


def test_budget_is_left_for_data():
    gc.collect()
    # the 128 KiB budget minus the harness and two imported modules
    assert gc.mem_free() > 64 * 1024, gc.mem_free()

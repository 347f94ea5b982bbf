"""`hcterm image build`: a reader's filesystem image (settings, signed blacklist, flash
manifest; littlefs-python) and its compiled firmware's ROMFS image beside it; a virtual
reader booted on them runs that firmware from its ROM partition with those settings and that
list (docs/flashing.md "Images")."""

import json

from hcterm.cli import main
from hcterm.commands.demo import signed_list
from hcterm.emulator import samples
from hcterm.sim import romimage
from hcterm.sim.virtualreader import VirtualReader


def test_a_built_image_boots_with_its_settings_its_list_and_its_firmware(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"terminal_id": "ROOM-7", "department": "0301",
                                  "blacklist_key": samples.DEMO_PUBLIC_KEY}))
    (tmp_path / "list.bin").write_bytes(signed_list(version=3))
    image = tmp_path / "reader.img"
    code = main(["image", "build", "--board", "sim-pn532-uart", "--config", str(config),
                 "--blacklist", str(tmp_path / "list.bin"), "-o", str(image), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["files"] == ["blacklist.bin", "config.json", "flash.json"]
    assert image.stat().st_size == 1024 * 1024
    rom = tmp_path / "reader.img.rom"
    assert romimage.partition_image_size(rom) == result["rom_image_bytes"]
    with VirtualReader(flash=image) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            boot = reader.next_event(timeout=10)
            assert boot["ok"] is True and boot["blacklist"]["version"] == 3, boot
            assert reader.config()["terminal_id"] == "ROOM-7"
            assert reader.blacklist_status()["count"] == 4
            assert reader.info()["unique_id"]
        finally:
            reader.close()


def test_a_delta_or_an_unsigned_list_is_refused(tmp_path, capsys):
    from hcterm import blacklist_files as bf

    unsigned = bf.build_list(bf.read_list("410702198804302754"), 1)
    (tmp_path / "u.bin").write_bytes(unsigned)
    code = main(["image", "build", "--board", "sim-pn532-uart", "--blacklist",
                 str(tmp_path / "u.bin"), "-o", str(tmp_path / "x.img")])
    err = capsys.readouterr().err
    assert code == 2 and "must be a signed list" in err and not (tmp_path / "x.img").exists()


def test_a_real_boards_images_fill_its_partitions(tmp_path, capsys):
    from littlefs import LittleFS

    image = tmp_path / "s3.img"
    argv = ["image", "build", "--board", "esp32s3-handheld", "-o", str(image), "--json"]
    assert main(argv + ["--fs-bytes", "0x4F0000", "--rom-bytes", "256k"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert image.stat().st_size == result["filesystem_bytes"] == 0x4F0000
    rom = (tmp_path / "s3.img.rom").read_bytes()
    assert len(rom) == 256 * 1024 and rom[result["rom_image_bytes"]:] == b"\xff" * (
        len(rom) - result["rom_image_bytes"])      # the partition's rest: erased
    fs = LittleFS(block_size=4096, block_count=0x4F0000 // 4096, mount=False)
    fs.context.buffer[:] = image.read_bytes()
    fs.mount()
    with fs.open("/flash.json") as f:
        assert json.loads(f.read())["arch"] == "xtensawin"
    assert main(argv + ["--rom-bytes", "64k"]) == 2
    assert f"the ROM partition {64 * 1024}" in capsys.readouterr().err

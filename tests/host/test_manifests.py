"""Each board's manifest.py freezes only what that board needs: the firmware modules its
entry script (boards/main.py) and board.py import, directly, inside functions or through
reader.call, on its reader chip (hcterm.firmware_modules), plus its board.py and main.py. The
sim boards' ROMFS images (hcterm.sim.romimage) hold the same modules for their chip."""

import textwrap
from pathlib import Path

import pytest

from hcterm import firmware_modules as fm
from hcterm.mplib import MICROPYTHON_LIB
from hcterm.mpy import BOARDS_DIR, FIRMWARE_DIR
from hcterm.sim import romimage

MANIFESTS = sorted(BOARDS_DIR.glob("*/manifest.py"))
# what a require() of a micropython-lib package (hcterm.mplib) freezes: the port's build
# takes it from micropython-lib, not from a file of ours
MICROPYTHON_LIB_FILE = "micropython-lib"


def frozen(manifest):
    """{frozen name: source file} of what `manifest` freezes, run with stand-ins for the
    MicroPython build's manifest functions (a relative include() is followed; the port's own
    manifest, "$(PORT_DIR)/...", is not ours and is left out)."""
    found = {}

    def run(path):
        folder = path.parent

        def module(module_path, base_path=".", opt=None):
            found[module_path] = (folder / base_path / module_path).resolve()

        def package(package_path, files=None, base_path=".", opt=None):
            base = folder / base_path
            names = files if files is not None else [
                p.relative_to(base / package_path).as_posix()
                for p in sorted((base / package_path).rglob("*.py"))]
            for name in names:
                module(f"{package_path}/{name}", base_path, opt)

        def include(manifest_path, **options):
            if not manifest_path.startswith("$("):
                target = folder / manifest_path
                run(target / "manifest.py" if target.is_dir() else target)

        def metadata(**fields):
            pass

        def require(name, **options):
            if f"micropython-{name}" not in MICROPYTHON_LIB:
                raise AssertionError(f"{path}: require({name!r}): a micropython-lib package "
                                     "the layer test does not know about")
            found[f"{name}.py"] = MICROPYTHON_LIB_FILE

        scope = {"module": module, "package": package, "include": include,
                 "metadata": metadata, "require": require}
        exec(compile(path.read_text(), str(path), "exec"), scope)

    run(Path(manifest))
    return found


def needed(board, boards_dir=BOARDS_DIR, firmware_dir=FIRMWARE_DIR):
    """{frozen name: source file} a real board needs: its firmware modules, board.py, main.py
    and the shared board modules its board.py imports (boards/watchdog.py, a shared wiring)."""
    files = fm.board_files(board, boards_dir, firmware_dir)
    files["board.py"] = Path(boards_dir) / board / "board.py"
    files["main.py"] = fm.entry_script(board, boards_dir)
    files.update(fm.board_shared_files(files["board.py"]))
    files = {name: path.resolve() for name, path in files.items()}
    if fm.board_has_display(Path(boards_dir) / board / "board.py"):
        files["ssd1306.py"] = MICROPYTHON_LIB_FILE     # the display's driver
    return files


def differences(got, want):
    found = [f"missing: {name}" for name in sorted(set(want) - set(got))]
    found += [f"extra: {name}" for name in sorted(set(got) - set(want))]
    found += [f"{name} is frozen from {got[name]}, not {want[name]}"
              for name in sorted(set(got) & set(want)) if got[name] != want[name]]
    return found


def test_every_real_board_has_a_manifest():
    real = [b for b in fm.chip_kinds() if not fm.is_sim(b)]
    assert real and sorted(p.parent.name for p in MANIFESTS) == real


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.parent.name)
def test_the_manifest_freezes_what_the_board_needs(manifest):
    found = differences(frozen(manifest), needed(manifest.parent.name))
    assert not found, f"{manifest.relative_to(BOARDS_DIR.parent)}:\n" + "\n".join(found)


def test_a_manifest_with_a_missing_or_an_extra_module_fails(tmp_path):
    board = "esp32-pn532-uart"
    text = (BOARDS_DIR / board / "manifest.py").read_text()
    dropped = 'module("reader/chips/pn532_control.py", base_path="../../firmware", opt=3)\n'
    assert dropped in text
    text = text.replace(dropped, "") + \
        'module("reader/chips/pn532_raw_frames.py", base_path="../../firmware", opt=3)\n'
    text = text.replace('"../../firmware"', repr(str(FIRMWARE_DIR)))
    text = text.replace('"../../firmware/manifest.py"', repr(str(FIRMWARE_DIR / "manifest.py")))
    other = str(BOARDS_DIR / "esp32-pn532-spi")      # another board's pin table
    text = text.replace('module("board.py"', f'module("board.py", base_path={other!r}')
    text = text.replace('base_path=".."', f"base_path={str(BOARDS_DIR)!r}")
    (tmp_path / "manifest.py").write_text(text)
    assert differences(frozen(tmp_path / "manifest.py"), needed(board)) == [
        "missing: reader/chips/pn532_control.py",
        "extra: reader/chips/pn532_raw_frames.py",
        f"board.py is frozen from {BOARDS_DIR / 'esp32-pn532-spi' / 'board.py'}, "
        f"not {BOARDS_DIR / board / 'board.py'}",
    ]


def test_a_manifest_without_the_wiring_its_board_shares_fails(tmp_path):
    # esp32-pn532-uart and esp32s3-handheld share boards/esp32s3_pn532_hsu.py: a manifest
    # that does not freeze it leaves board.py's import without its module
    board = "esp32s3-handheld"
    text = (BOARDS_DIR / board / "manifest.py").read_text()
    shared = 'module("esp32s3_pn532_hsu.py", base_path="..", opt=3)\n'
    assert shared in text
    text = text.replace(shared, "")
    text = text.replace('"../../firmware"', repr(str(FIRMWARE_DIR)))
    text = text.replace('"../../firmware/manifest.py"', repr(str(FIRMWARE_DIR / "manifest.py")))
    mine = str(BOARDS_DIR / board)
    text = text.replace('module("board.py"', f'module("board.py", base_path={mine!r}')
    text = text.replace('base_path=".."', f"base_path={str(BOARDS_DIR)!r}")
    (tmp_path / "manifest.py").write_text(text)
    assert differences(frozen(tmp_path / "manifest.py"), needed(board)) == [
        "missing: esp32s3_pn532_hsu.py"]
    assert fm.board_shared_files(BOARDS_DIR / "esp32-pn532-uart" / "board.py") == \
        fm.board_shared_files(BOARDS_DIR / board / "board.py") == {
            "esp32s3_pn532_hsu.py": BOARDS_DIR / "esp32s3_pn532_hsu.py",
            "watchdog.py": BOARDS_DIR / "watchdog.py"}


def test_package_and_include_in_a_manifest_are_followed(tmp_path):
    (tmp_path / "fw" / "reader" / "chips").mkdir(parents=True)
    for name in ("__init__.py", "crc.py", "chips/__init__.py", "chips/mfrc522.py"):
        (tmp_path / "fw" / "reader" / name).write_text("")
    (tmp_path / "common.py").write_text('package("reader", files=["crc.py"], base_path="fw")\n')
    (tmp_path / "manifest.py").write_text(textwrap.dedent("""\
        include("$(PORT_DIR)/boards/manifest.py")
        include("common.py")
        package("reader/chips", base_path="fw")
        """))
    assert sorted(frozen(tmp_path / "manifest.py")) == [
        "reader/chips/__init__.py", "reader/chips/mfrc522.py", "reader/crc.py"]


# ---- what a board needs: the chip kinds ----------------------------------------------------

def test_each_board_brings_in_its_own_chip_only():
    needs = {board: fm.board_modules(board) for board in fm.chip_kinds()}
    table = fm.chip_table(fm.import_graph(kinds=fm.chip_kinds().values()))
    assert set(table) == set(fm.chip_kinds().values()), table
    for board, kind in fm.chip_kinds().items():
        modules = needs[board]
        assert "reader.main" in modules and "reader.cards.vendor_flow" in modules
        assert "reader.chips.pn532_raw_frames" not in modules  # tools and tests only
        if kind == "rc522":
            assert {"reader.chips.mfrc522", "reader.protocols.rc522_reader",
                    "reader.protocols.iso14443_3", "reader.protocols.iso14443_4"} <= modules
            assert not [m for m in modules if "pn532" in m], board
        else:
            bus = "reader.chips." + kind.replace("-", "_")    # pn532-uart: chips.pn532_uart
            other = {"reader.chips.pn532_uart", "reader.chips.pn532_spi"} - {bus}
            assert {bus, "reader.chips.pn532", "reader.chips.pn532_control",
                    "reader.protocols.pn532_reader"} <= modules
            assert not modules & other and "reader.chips.mfrc522" not in modules, board


def test_a_branch_on_the_chip_kind_decides_what_a_board_needs(tmp_path):
    files = {
        "firmware/reader/__init__.py": "TRANSIENT = {}\n",
        "firmware/reader/main.py": """\
            def boot(board):
                from reader.terminal import devices
                return devices.open_card_reader(board)
            """,
        "firmware/reader/terminal/devices.py": """\
            from reader.chips.sam import SAM

            def open_card_reader(board):
                kind = board.reader_chip()[0]
                if kind == "alpha":
                    from reader.chips.alpha import Alpha
                    return Alpha()
                elif kind in ("beta", "gamma"):
                    from reader.chips.beta import Beta
                else:
                    raise ValueError(kind)
                if kind != "gamma":
                    from reader.chips.beta_only import Extra
                return Beta()
            """,
        "firmware/reader/chips/sam.py": "",
        "firmware/reader/chips/alpha.py": "from reader.chips.sam import SAM\n",
        "firmware/reader/chips/beta.py": "",
        "firmware/reader/chips/beta_only.py": "",
        "firmware/reader/chips/unused.py": "",
        "boards/main.py": "import board\nimport reader.main\nreader.main.boot(board)\n",
        "boards/one/board.py": 'def reader_chip():\n    return ("alpha", 1)\n',
        "boards/two/board.py": 'def reader_chip():\n    return ("beta", 1, 2)\n',
        "boards/three/board.py": 'def reader_chip():\n    return ("gamma",)\n',
        "boards/sim-two/board.py": 'def reader_chip():\n    return ("beta", 1, 2)\n',
        "boards/sim-common/simboot.py": "import board\nimport reader.main\n",
        "boards/sim-common/simhal.py": "import reader.errors\n",
        "firmware/reader/errors.py": "",
    }
    for name, source in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    for package in ("reader/chips", "reader/terminal"):
        (tmp_path / "firmware" / package / "__init__.py").write_text("")
    boards, firmware = tmp_path / "boards", tmp_path / "firmware"
    common = {"reader", "reader.main", "reader.terminal", "reader.terminal.devices",
              "reader.chips", "reader.chips.sam"}
    assert fm.chip_kinds(boards) == {"one": "alpha", "sim-two": "beta", "three": "gamma",
                                     "two": "beta"}
    assert fm.chip_table(fm.import_graph(firmware, ["alpha", "beta", "gamma"])) == {
        "alpha": ["reader.chips.alpha"],
        "beta": ["reader.chips.beta", "reader.chips.beta_only"],
        "gamma": ["reader.chips.beta"],
    }
    assert fm.board_modules("one", boards, firmware) == common | {"reader.chips.alpha"}
    assert fm.board_modules("two", boards, firmware) == common | {
        "reader.chips.beta", "reader.chips.beta_only"}
    assert fm.board_modules("three", boards, firmware) == common | {"reader.chips.beta"}
    # a sim board boots through simboot.py; the sim HAL's imports count too
    assert fm.board_modules("sim-two", boards, firmware) == common | {
        "reader.chips.beta", "reader.chips.beta_only", "reader.errors"}


# ---- the sim boards' ROM images ------------------------------------------------------------

@pytest.mark.parametrize("board", [b for b in fm.chip_kinds() if fm.is_sim(b)])
def test_a_sim_boards_rom_image_holds_what_the_board_needs(board):
    files = dict(romimage.sources(board))
    firmware = {name: path for name, path in files.items() if name.startswith("reader/")}
    assert firmware == fm.board_files(board)
    assert files["board.py"] == BOARDS_DIR / board / "board.py"
    assert "simhal.py" in files and "simboot.py" not in files


@pytest.mark.parametrize("board", [b for b in fm.chip_kinds() if not fm.is_sim(b)])
def test_a_real_boards_flashed_image_holds_its_shared_board_modules(board):
    # `hcterm flash`/`hcterm image build` put the firmware into a ROMFS image
    # (romimage.sources), beside what the board's manifest.py would freeze
    files = dict(romimage.sources(board))
    for name, path in fm.board_shared_files(BOARDS_DIR / board / "board.py").items():
        assert files[name] == path
    assert "watchdog.py" in files


def test_the_firmware_tests_rom_image_holds_every_module():
    files = dict(romimage.sources(None))
    every = {path.relative_to(FIRMWARE_DIR).as_posix()
             for path in (FIRMWARE_DIR / "reader").rglob("*.py")}
    assert {name for name in files if name.startswith("reader/")} == every
    assert "board.py" not in files

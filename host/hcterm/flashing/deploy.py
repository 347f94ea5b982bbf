"""One device, start to end: probe, compile, deploy what differs, verify, config, reset,
self-test (docs/flashing.md). `flash_device` returns the manufacturing record's fields or
raises FlashError."""

import hashlib
import json
import re
import time

from .. import fontbuild
from ..firmware_modules import board_has_display
from ..mpy import BOARDS_DIR
from . import FlashError
from .build import Target, build_image, check_target, compile_firmware
from .device import Device, frames

BLOCK = 4096
MARKER = "/flash.incomplete"        # reader.terminal.device_requests.FLASH_INCOMPLETE
MANIFEST = "/flash.json"
TMP = ".tmp"    # a file's temporary name: its name + TMP (reader.terminal.atomic_file's rule)
CONFIG_KEYS = ("terminal_id", "department", "blacklist_key")
RESET = "try:\n from simport import reset\nexcept ImportError:\n from machine import reset\nreset()"


def check_config(config):
    """The device config a flash writes: FlashError for a bad or secret setting."""
    from reader.terminal import settings

    config = dict(config or {})
    for key in config:
        if re.search(r"secret|private", key, re.I):
            raise FlashError(f"config: {key!r} looks like a secret key",
                             "a reader never holds a secret key: give only the blacklist "
                             "platform's public key (blacklist_key)")
    key = config.get("blacklist_key")
    if key is not None and not (isinstance(key, str) and re.fullmatch(r"[0-9A-Fa-f]{128}", key)):
        raise FlashError("config: blacklist_key must be the platform's SM2 public key as 128 "
                         "hex characters (x and y, without the 04 prefix)",
                         "copy it from the blacklist platform's key file")
    plain = {k: v for k, v in config.items() if k != "blacklist_key"}
    unknown = sorted(set(plain) - set(settings.DEFAULTS))
    if unknown:
        raise FlashError(f"config: unknown setting {', '.join(unknown)}",
                         f"use {', '.join(sorted(set(settings.DEFAULTS) | {'blacklist_key'}))}")
    try:
        sample = {k: (v.format(n=1, uid="0" * 16) if isinstance(v, str) else v)
                  for k, v in plain.items()}
        settings.check(sample)
    except (ValueError, KeyError, IndexError) as error:
        raise FlashError(f"config: {error}", "fix the config file") from None
    return config


def device_config(config, n, uid):
    """The config of the n-th device (1-based): "{n}" and "{uid}" filled in."""
    return {k: (v.format(n=n, uid=uid or "") if isinstance(v, str) and k != "blacklist_key"
                else v) for k, v in config.items()}


class Progress:
    """What a flash reports as it goes: progress(stage, done, total)."""

    def __init__(self, callback=None):
        self.callback = callback or (lambda *a: None)
        self.done = 0
        self.total = 0
        self.verify_s = 0.0     # time spent reading hashes back

    def stage(self, text, total=None):
        if total is not None:
            self.total, self.done = total, 0
        self.callback(text, self.done, self.total)

    def advance(self, text, n):
        self.done += n
        self.callback(text, self.done, self.total)


def flash_device(port, board, config=None, n=1, progress=None, mode="auto",
                 force_board=False, compiled=None, timeouts=None):
    """Flash the device on `port` with `board`'s firmware. -> dict of what was done."""
    started = time.monotonic()
    p = Progress(progress)
    result = {"port": port, "board": board}
    font = _font(board)         # before the device is touched: a missing unifont fails here
    p.stage("connecting")
    device = Device(port)
    try:
        device.enter()
        p.stage("asking the device")
        info = device.probe()
        if info.get("name") != "micropython":
            raise FlashError(f"the device on {port} runs {info.get('name')!r}, not "
                             "MicroPython", "install MicroPython on it first (docs/flashing.md)")
        target = Target.from_implementation(info["version"], info["mpy"], info["platform"])
        result["micropython"], result["mpy"], result["arch"] = target.version, target.mpy, \
            target.arch
        for found in (info.get("hw_board"), info.get("board")):
            if found and found != board and not (force_board and found == info.get("board")
                                                 and found != info.get("hw_board")):
                raise FlashError(f"wrong board: the reader on {port} is {found}, not "
                                 f"{board}", f"give --board {found} (or check the port)")
        check_target(board, target)
        p.stage("compiling")
        firmware = compiled(target) if compiled else compile_firmware(board, target)
        result["firmware"], result["firmware_hash"] = firmware.version, firmware.digest
        manifest = info.get("manifest") or {}
        if manifest.get("board") != board:
            manifest = {}
        use_rom = info.get("rom_size", 0) > 0 and mode != "files"
        t0 = time.monotonic()
        if use_rom:
            written, verify_s, new_manifest = _deploy_rom(device, firmware, info, manifest, p)
        else:
            written, verify_s, new_manifest = _deploy_files(device, firmware, manifest, p)
        if firmware.main is not None:
            written += _replace_file(device, "/main.py", firmware.main, p)
        if font is not None:
            t1 = time.monotonic()
            result["font_bytes"] = _deploy_font(device, font, manifest, new_manifest, p)
            result["font_s"] = round(time.monotonic() - t1, 3)
            written += result["font_bytes"]
        result.update(mode="rom" if use_rom else "files", written_bytes=written,
                      deploy_s=round(time.monotonic() - t0, 3), verify_s=round(verify_s, 3))
        if config:
            p.stage("writing the config")
            _write_config(device, config, n)
        new_manifest.update(board=board, firmware=firmware.version, hash=firmware.digest,
                            mpy=target.mpy, arch=target.arch)
        text = json.dumps(new_manifest, sort_keys=True).encode()
        _replace_file(device, MANIFEST, text, Progress(), then=f"\n_rm('{MARKER}')")
        result["until_reset_s"] = round(time.monotonic() - started, 3)
        p.stage("resetting")
        device.reset(RESET)
    finally:
        device.close()
    p.stage("self-test")
    result.update(_after_reset(port, config, n, timeouts))
    result["seconds"] = round(time.monotonic() - started, 3)
    p.stage("done")
    return result


def _write_config(device, config, n):
    uid = device.json(
        "_i=None\ntry:\n import board as _b;_i=_b.unique_id()\nexcept Exception:\n try:\n"
        "  import machine;_i=machine.unique_id()\n except Exception:\n  pass\n"
        "print(json.dumps(binascii.hexlify(_i).decode().upper() if _i else None))",
        "read its unique id")
    values = device_config(config, n, uid)
    data = json.dumps(values).encode()
    _check_room(device, len(data), "the config")
    device.send(data, "_d", "receive the config")
    device.run("try:\n with open('/config.json') as f:_c=json.load(f)\n"
               "except (OSError,ValueError):\n _c={}\n"
               "_c.update(json.loads(_d))\n"
               f"with open('/config.json{TMP}','w') as f:json.dump(_c,f)\n"
               f"os.rename('/config.json{TMP}','/config.json')", "store the config")


def _after_reset(port, config, n, timeouts=None):
    """Open the link once the reader is back, run the self-test: the record's fields."""
    from ..link import NotConnected, Reader, ReaderError

    deadline = time.monotonic() + (timeouts or {}).get("boot", 40)
    reader = None
    while reader is None:
        try:
            reader = Reader(port, timeout=10, open_timeout=10)
        except NotConnected:
            if time.monotonic() > deadline:
                raise FlashError(f"the reader did not come back on {port} after its reset",
                                 "check the port; power the reader off and on and run hcterm "
                                 "flash again") from None
            time.sleep(0.5)
        except ReaderError as error:
            if time.monotonic() > deadline:
                raise FlashError(f"the new firmware does not answer on {port} ({error})",
                                 "look at its output (mpremote connect PORT repl) and run "
                                 "hcterm flash again") from None
    try:
        with reader:
            report = reader.selftest()
            info = reader.info()
            settings = reader.config()
    except ReaderError as error:
        raise FlashError(f"the reader failed during its self-test ({error})",
                         "run hcterm flash again; if it fails the same way, report it") \
            from None
    sam = report.get("sam") or {}
    out = {"unique_id": info.get("unique_id"), "sam_serial": sam.get("serial"),
           "sam_terminal_number": sam.get("terminal_number"),
           "terminal_id": settings.get("terminal_id"),
           "department": settings.get("department"), "selftest": report}
    failed = sorted(k for k, v in report.items() if isinstance(v, dict) and not v.get("ok"))
    if info.get("flash_incomplete"):
        raise FlashError("the reader still says flash incomplete", "run hcterm flash again")
    if info.get("config_error"):
        raise FlashError(f"the firmware did not take the config: {info['config_error']}",
                         "fix the config file and run hcterm flash again")
    out["selftest_ok"] = bool(report.get("ok"))
    if not report.get("ok"):
        err = FlashError(f"self-test failed: {', '.join(failed) or 'see the report'}",
                         "check that part of the reader (docs/terminal-flow.md, self-test), "
                         "then run hcterm flash again")
        err.fields = out
        raise err
    return out


# -- ROM partition ------------------------------------------------------------------------
def _deploy_rom(device, firmware, info, manifest, p):
    image, slots = build_image(firmware, manifest.get("slots"))
    size = info["rom_size"]
    if len(image) > size and manifest.get("slots"):
        image, slots = build_image(firmware)       # the old layout no longer fits: afresh
    if -(-len(image) // BLOCK) * BLOCK > size:
        raise FlashError(f"the firmware image ({len(image)} bytes) does not fit the device's "
                         f"ROM partition ({size} bytes)",
                         "give the board a larger ROMFS partition, or flash with --files")
    count = -(-len(image) // BLOCK)
    blocks = [image[i * BLOCK:(i + 1) * BLOCK].ljust(BLOCK, b"\xff") for i in range(count)]
    want = [hashlib.sha256(b).hexdigest()[:16] for b in blocks]
    p.stage("comparing")
    have = device.json(f"_rblocks({count * BLOCK})", "hash its ROM partition")
    todo = [i for i in range(count) if want[i] != have[i]]
    written = 0
    verify_s = 0.0
    if todo:
        # a cut from here on leaves an invalid image (block 0 erased first, written last):
        # the board boots what is frozen, if anything, and info says "flash incomplete"
        # the mounted image stays referenced (_K, kept across flash sessions until a reset):
        # qstrs of modules imported from it point into its bytes (on a board into the
        # memory-mapped partition; on the virtual reader a bytes object not to be freed)
        device.run(f"open('{MARKER}','w').close()\n"
                   "_K=globals().get('_K',[])+[m for m in vfs.mount() if m[1]=='/rom']\n"
                   "try:\n vfs.umount('/rom')\n"
                   "except OSError:\n pass\n_rerase(0)", "start writing its ROM partition")
        order = [i for i in todo if i != 0] + [0]
        p.stage("writing the ROM image", total=len(order) * BLOCK)
        pieces = [(i, offset, made) for i in order for offset, made in frames(blocks[i])]
        device.stream(f"_rom({[(i, o, len(f)) for i, o, f in pieces]!r})",
                      [f for _, _, f in pieces], "write its ROM partition",
                      done=lambda k: p.advance("writing the ROM image", BLOCK if
                                               pieces[k][1] == 0 else 0))
        written = len(order) * BLOCK
        t = time.monotonic()
        p.stage("verifying")
        have = device.json(f"_rblocks({count * BLOCK})", "hash its ROM partition")
        whole = device.run(f"_rhash({len(image)})", "hash the new image").decode().strip()
        verify_s = time.monotonic() - t
        bad = [i for i in range(count) if want[i] != have[i]]
        if bad or whole != hashlib.sha256(image).hexdigest():
            raise FlashError(f"verify mismatch: ROM blocks {bad or 'image hash'} read back "
                             "differ from what was sent",
                             "run hcterm flash again; if it repeats, the ROM partition may be "
                             "worn or the wrong size")
    # littlefs copies of the firmware would shadow /rom (sys.path has the filesystem first)
    top = sorted({path.split("/")[0] for path in firmware.files})
    stale = [f"/{n}" for n in top if "/" not in n and n.endswith(".mpy")]
    stale += [s[:-4] + ".py" for s in stale] + [f"/{n}" for n in top if not n.endswith(".mpy")]
    device.run(f"for _p in {stale!r}:_rm(_p)", "remove old firmware files")
    manifest = {"mode": "rom", "slots": slots,
                "image": {"size": len(image), "sha256": hashlib.sha256(image).hexdigest()}}
    return written, verify_s, manifest


# -- the display font ---------------------------------------------------------------------
def _font(board):
    """The display font's bytes (board.FONT: /font16.hcf, hcterm.fontbuild) for a board with
    a display (its board.py has display()), else None."""
    if not board_has_display(BOARDS_DIR / board / "board.py"):
        return None
    try:
        return fontbuild.build().read_bytes()
    except fontbuild.FontSourceMissing as error:
        raise FlashError(f"cannot build the display font: {error}",
                         "install unifont on this computer, then run hcterm flash again") \
            from None


def _deploy_font(device, data, manifest, new_manifest, p):
    """Put the font `data` on the device: written when its hash differs from the manifest's,
    or its size on the device; the hash the device reads back is checked. Bytes written."""
    path = "/" + fontbuild.FILENAME
    digest = hashlib.sha256(data).hexdigest()
    new_manifest["font"] = digest
    p.stage("comparing the font")
    size = device.json(f"try:\n print(os.stat({path!r})[6])\nexcept OSError:\n print(-1)",
                       f"look for {path}")
    if size == len(data) and (manifest.get("font") == digest or device.run(
            f"print(_hf({path!r}))", f"hash {path}").decode().strip() == digest):
        return 0        # there (from this tool, hcterm image build or the sim's seed)
    p.stage("writing the font", total=len(data))
    return _replace_file(device, path, data, p)


# -- littlefs files -----------------------------------------------------------------------
# One file is replaced as the firmware replaces its own (reader.terminal.atomic_file): the free
# flash checked before the first byte, the data written under the name + TMP, read back, then
# renamed over the old file; the reader's boot removes a `*.tmp` a cut left in / (its
# self-test: atomic_file.clean). The device runs these steps as raw-REPL commands: while it is
# flashed its firmware is not importable (its modules dropped, /rom unmounted or its files
# half replaced), so the rule is mirrored here, with the firmware's temporary name and slack
# (tests/host/test_flash_leftovers.py checks that the boot removes these names).
def _check_room(device, need, what, first=""):
    """FlashError before the first byte when `need` bytes, plus littlefs's working room (three
    blocks, as reader.terminal.atomic_file.check adds), do not fit the device's free flash
    (`first`: device code run in the same command, before the look)."""
    free = device.json(f"{first}_v=os.statvfs('/');print(_v[0]*_v[3])",
                       "say how much flash is free")
    need += 3 * BLOCK
    if need > free:
        raise FlashError(f"not enough flash: {what} needs {need} bytes, {free} are free",
                         "free the reader's flash (a blacklist download left open; the tap "
                         "journal: connect the host so it empties), or write a whole "
                         "filesystem image (hcterm image build, docs/flashing.md)")


def _replace_file(device, path, data, p, then=""):
    """`path` replaced in one step: written as path + TMP, verified, renamed (`then`: more
    device code in the rename's command). Bytes sent."""
    written = _write_file(device, path, data, p, name=path + TMP)
    device.run(f"os.rename({path + TMP!r},{path!r}){then}", f"put {path} in place")
    return written


def _write_file(device, path, data, p, name=None):
    """Write `path` through `name` (default: path itself), streamed in frames, and verify
    it by its hash read back: bytes sent. The free flash is checked first."""
    name = name or path
    _check_room(device, len(data), path, first=f"_mk({name!r})\n")   # (and its folder made)
    pieces = [(o + offset, made) for o in range(0, max(len(data), 1), BLOCK)
              for offset, made in frames(data[o:o + BLOCK])]
    table = [(name, "wb" if k == 0 else "ab", len(f)) for k, (_, f) in enumerate(pieces)]
    ends = [o for o, _ in pieces[1:]] + [len(data)]
    device.stream(f"_files({table!r})", [f for _, f in pieces], f"write {path}",
                  done=lambda k: p.advance(f"writing {path}", ends[k] - pieces[k][0]))
    start = time.monotonic()
    got = device.run(f"print(_hf({name!r}))", f"hash {path}").decode().strip()
    p.verify_s += time.monotonic() - start
    if got != hashlib.sha256(data).hexdigest():
        raise FlashError(f"verify mismatch: {path} read back differs from what was sent",
                         "run hcterm flash again; if it repeats, the flash may be full or worn")
    return len(data)


def _deploy_files(device, firmware, manifest, p):
    have = manifest.get("files") or {} if manifest.get("mode") == "files" else {}
    paths = {"/" + path: path for path in firmware.files}
    present = device.json(
        "print(json.dumps({p:os.stat(p)[6] for p in %r if _hf(p) is not None}))"
        % sorted(paths), "list its firmware files")
    todo = [d for d, path in sorted(paths.items())
            if have.get(path) != firmware.hash(path) or present.get(d) != len(firmware.files[path])]
    on_device = device.json("print(json.dumps(_walk('/reader',[])))", "list its files")
    extras = sorted(set(on_device) - set(paths))
    extras += [d[:-4] + ".py" for d in paths if d.endswith(".mpy")]  # .py shadows .mpy
    written = 0
    verify_s = 0.0
    if todo:
        _check_room(device, sum(len(firmware.files[paths[d]]) for d in todo),
                    f"writing {len(todo)} firmware files")
        device.run(f"open('{MARKER}','w').close()", "mark the flash incomplete")
        p.stage("writing files", total=sum(len(firmware.files[paths[d]]) for d in todo))
        for d in todo:
            written += _write_file(device, d, firmware.files[paths[d]], p, name=d + ".new")
        verify_s = p.verify_s   # each file is verified as it is written (its hash read back)
        device.run(f"for _p in {todo!r}:os.rename(_p+'.new',_p)", "put the new files in place")
    device.run(f"for _p in {extras!r}:_rm(_p)", "remove old firmware files")
    manifest = {"mode": "files", "files": {path: firmware.hash(path) for path in firmware.files}}
    return written, verify_s, manifest

"""A virtual reader: the real firmware on the MicroPython unix port, wired to emulators.

    with VirtualReader("sim-pn532-uart", flash="reader.img") as vr:
        print(vr.port)            # the reader's USB port (REPL + host link), a pty
        vr.devices.tap("adult")   # a card on the antenna

The firmware process runs `boards/sim-common/simboot.py` with its stdio on the USB port;
the emulated devices are served on the sim bus in a private run directory.
"""

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .. import firmware_modules
from ..emulator.wire_timing import WireTiming
from ..mpy import BOARDS_DIR, REPO, micropython_command
from . import boards, fontseed, romimage
from .bus import SimBus
from .control import ControlInUse, ControlServer, claim
from .usbport import UsbPort
from .wiring import Devices

DEFAULT_BOARD = "sim-pn532-uart"
# The firmware's RAM budget on the sim, the ROMFS image added on top (a board has it in
# flash). The terminal flow (self-test, host link, taps, refusals, removal, QR codes, a host
# read) runs in 104k on sim-pn532-uart (tests/host/test_heap_budget.py) and the SPI boards'
# demos in 112k (tests/host/test_demo.py); the heavier host requests (DF03 visit records,
# photo reads, writes, raw APDUs to both slots) need more since the journal, watchdog and
# part faults came in (a DF03 record write failed at 112k: docs/firmware-memory.md). The
# default leaves room for all of them on every sim board; a board's wiring.json may give
# its own (sim-handheld).
DEFAULT_HEAP = "128k"
# what compiling the firmware from its source (from_source) adds to a board's default heap:
# parse trees and the qstr text in RAM (docs/firmware-memory.md)
FROM_SOURCE_HEAP = 128 * 1024


ROM_HEAP_SLACK = 1024  # the VfsRom object and the image's bytes-object header
# The seventh qstr pool (1,280 entries), which simboot.py (boards/sim-common/simqstr.py)
# allocates at boot: the names of frozen modules are in flash on a board, so it is added on
# top of the budget like the image (measured on this x64 build: gc.mem_alloc() grows by
# 14,208 bytes when it is allocated). HCTERM_QSTR_PRELOAD=0 leaves it out.
QSTR_POOL_HEAP = 14208
ROM_PARTITION_BLOCKS = 128  # the sim's ROM partition: 512 KiB (4 KiB erase blocks)
FLASH_BLOCKS = 256          # the sim's flash chip (littlefs): 1 MiB, as simboot.py opens it
RESET_EXIT = 75             # the firmware asked for a reset (boards/sim-common/simport.py)


def sidecar(flash_image, kind):
    """The file kept beside a flash image: "rom" (the ROM partition), "uid" (the unique id)."""
    flash_image = Path(flash_image)
    return flash_image.with_name(f"{flash_image.name}.{kind}")


def unique_id(flash_image):
    """The board's unique id (hex) of a flash image: made once, kept beside it."""
    path = sidecar(flash_image, "uid")
    try:
        text = path.read_text().strip()
        bytes.fromhex(text)
        if text:
            return text.upper()
    except (OSError, ValueError):
        pass
    text = os.urandom(8).hex().upper()
    path.write_text(text + "\n")
    return text


def parse_size(text):
    """'128k' -> 131072; '2m'; '90000'. ValueError that names the accepted forms."""
    text = str(text).strip().lower()
    scale = {"k": 1024, "m": 1024 * 1024}.get(text[-1:], 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit() or int(digits) == 0:
        raise ValueError(f"heap size {text!r}: expected a positive number of bytes, "
                         "optionally with k or m, e.g. 96k, 131072 or 1m")
    return int(digits) * scale


def _kib(size):
    return f"{size // 1024}k" if size % 1024 == 0 else f"{size} bytes"


class SimError(RuntimeError):
    pass


def _blank(image):
    """No image yet, or every byte erased (0xFF): a new flash chip, formatted at boot. An
    image that holds anything else and does not mount is formatted only with --format
    (checked here: the firmware's heap has no room for the check)."""
    try:
        with open(image, "rb") as f:
            while chunk := f.read(65536):
                if chunk.count(0xFF) != len(chunk):
                    return False
    except FileNotFoundError:
        pass
    return True


class VirtualReader:
    def __init__(self, board=DEFAULT_BOARD, flash=None, card=None, port_link=None,
                 control=None, heapsize=None, sam=None, pace=False,
                 from_source=False, format_flash=False, usb_baud=None, watchdog_ms=None):
        info = boards.describe(board)
        if not info["sim"]:
            raise SimError(f"{board} is a real board: flash it with `hcterm flash --board "
                           f"{board} --port PORT` (docs/flashing.md); "
                           f"virtual boards are {', '.join(boards.sim_names())}")
        self.board = board
        self.info = info
        # the firmware's RAM budget: the board's own where its wiring.json gives one (the
        # handheld's display needs more: docs/firmware-memory.md), else DEFAULT_HEAP
        self.heapsize = heapsize or info.get("heapsize", DEFAULT_HEAP)
        parse_size(self.heapsize)  # ValueError now, not in start()
        if from_source and not heapsize:
            self.heapsize = f"{(parse_size(self.heapsize) + FROM_SOURCE_HEAP) // 1024}k"
        if flash and not Path(flash).resolve().parent.is_dir():
            raise SimError(f"--flash {flash}: the folder {Path(flash).resolve().parent} does "
                           "not exist: create it or give a path in an existing folder")
        if control:
            try:
                claim(control)      # refuse now, before anything starts, if a sim answers there
            except ControlInUse as error:
                raise SimError(str(error)) from None
        self.from_source = from_source
        self.format_flash = format_flash   # format a flash image that does not mount
        self.rom_image = None
        # bytes of the heap that a board has in flash (the image, the names' seventh pool):
        # heap figures (gc.mem_alloc) take them out
        self.outside_budget = 0
        self.source_root = None     # --from-source: where the firmware's source is linked
        self._rundir = Path(tempfile.mkdtemp(prefix="hcterm-sim-"))
        self.flash_image = Path(flash) if flash else self._rundir / "flash.img"
        self.rom_partition = sidecar(self.flash_image, "rom")
        self.usb_baud = usb_baud    # pace the USB port as a UART at this rate (None: no)
        self.resets = 0             # how often the firmware asked for a reset
        self.watchdog_resets = 0    # how often its watchdog reset it (a stalled main loop)
        self.watchdog_ms = watchdog_ms  # the sim watchdog's timeout (None: the board's)
        self._cause = "power-on"    # why the firmware process starts (simhal.reset_cause)
        self._resetting = False
        self._watcher = None
        self.port_link = port_link
        self.control_path = control
        # one timing model for every wire; with pace=True bytes take their modeled time
        self.model = WireTiming(pacing=pace)
        self.devices = Devices(info, sam=sam, model=self.model)
        self._initial_card = card
        self.bus = None
        self.usb = None
        self.process = None
        self._control = None
        self._stopping = False

    @property
    def port(self):
        return self.port_link or self.usb.path

    def ptys(self):
        """Each emulated UART device's own pty, if served on one (hcterm emu does that)."""
        return {}

    def start(self):
        self.bus = SimBus(self._rundir / "bus", uarts=self.devices.uarts,
                          spis=self.devices.spis, gpios=self.devices.gpios,
                          adcs=self.devices.adcs, i2cs=self.devices.i2cs).start()
        self.usb = UsbPort(link=self.port_link, baud=self.usb_baud).start()
        if self.control_path:
            try:
                self._control = ControlServer(self.control_path, self.handle_control)
            except ControlInUse as error:   # a sim took it since __init__ checked
                self.stop()
                raise SimError(str(error)) from None
        if self._initial_card:
            self.devices.tap(self._initial_card)
        if not self.flash_image.exists():
            # a new flash chip comes erased: made here, not by the firmware process, so a
            # Ctrl-C at its boot cannot leave it half made
            self.flash_image.write_bytes(b"\xff" * (FLASH_BLOCKS * 4096))
        # a blank chip is formatted at boot, and at every boot of this power-on until it
        # mounts (a format a Ctrl-C or a reset cut is finished at the next boot); a chip
        # that held something else only when asked (--format)
        self._format = self.format_flash or _blank(self.flash_image)
        if not self.rom_partition.exists():
            # the ROM partition, erased: the frozen firmware boots until `hcterm flash`
            # writes an image into it
            self.rom_partition.write_bytes(b"\xff" * (ROM_PARTITION_BLOCKS * 4096))
        self._uid = unique_id(self.flash_image)
        if firmware_modules.board_has_display(BOARDS_DIR / self.board / "board.py"):
            fontseed.seed(self.flash_image, FLASH_BLOCKS, _blank(self.flash_image))
        if self.from_source:
            # the repository's source, and what the ROMFS image takes from outside it
            self.source_root = romimage.source_tree(self.board, self._rundir / "source")
        else:
            self.rom_image = romimage.build(self.board)
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="vr-reset", daemon=True)
        self._watcher.start()
        return self

    def _spawn(self):
        env = dict(os.environ)
        heap = parse_size(self.heapsize)
        self.outside_budget = 0
        if not self.from_source:
            # the image sits in the unix port's heap (it has no ROM): add its size on top of
            # the firmware's budget (the ROM partition's image if it holds one, as
            # simboot.py mounts that one)
            size = romimage.partition_image_size(self.rom_partition)
            if size:    # the image `hcterm flash` wrote into the ROM partition
                env["HCTERM_ROMFS"] = str(self.rom_partition.resolve())
                env["HCTERM_ROMFS_SIZE"] = str(size)
            else:       # erased, or a deploy cut before its block 0: the frozen firmware
                env["HCTERM_ROMFS"] = str(self.rom_image)
                size = self.rom_image.stat().st_size
                if env.get("HCTERM_QSTR_PRELOAD") != "0":   # it has the fillers
                    heap += QSTR_POOL_HEAP
                    self.outside_budget += QSTR_POOL_HEAP
            heap += size + ROM_HEAP_SLACK
            self.outside_budget += size
        env.update({
            "MICROPYPATH": str(BOARDS_DIR / boards.COMMON),
            "HCTERM_ROOT": str(self.source_root or REPO),
            "HCTERM_BOARD": self.board,
            "HCTERM_FLASH_IMAGE": str(self.flash_image.resolve()),
            "HCTERM_ROM_PARTITION": str(self.rom_partition.resolve()),
            "HCTERM_UNIQUE_ID": self._uid,
            "HCTERM_SIM_DIR": self.bus.directory,
            "HCTERM_RESET_CAUSE": self._cause,
        })
        if self.watchdog_ms:
            env["HCTERM_WATCHDOG_MS"] = str(self.watchdog_ms)
        self.bus.watchdog.stop()
        if self._format:
            env["HCTERM_FLASH_FORMAT"] = "1"   # simboot formats it if it does not mount
        slave = self.usb.firmware_slave
        self.process = subprocess.Popen(
            micropython_command(BOARDS_DIR / boards.COMMON / "simboot.py",
                                heapsize=heap, interactive=True),
            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=self._rundir,
            preexec_fn=self.usb.child_setup, close_fds=True,
        )

    def _watch(self):
        """A reset the firmware asked for (simport.reset(): exit status RESET_EXIT) starts
        it again on the same USB port, as a board reboots; any other exit stays an exit.
        A firmware whose main loop stopped feeding its watchdog (simhal) is killed and
        started again, as a board's WDT resets the chip."""
        while not self._stopping:
            process = self.process
            if process.poll() == RESET_EXIT and not self._stopping:
                self.resets += 1
                self._cause = "reset"
                self._spawn()
            elif self.bus.watchdog.expired() and not self._stopping:
                self._resetting = True
                process.kill()
                process.wait()
                self.bus.stalls.clear()
                self.watchdog_resets += 1
                self._cause = "watchdog"
                self._spawn()
                self._resetting = False
            time.sleep(0.05)

    def power_cut(self):
        """Cut the reader's power: its firmware process is killed (nothing of it runs on, as
        when a supply drops) and boots again on the same flash image, USB port and devices."""
        process = self.process
        process.kill()
        process.wait()
        self.usb.firmware_head.clear()      # the next boot's SELFTEST line is looked for
        self._spawn()

    def wait_booted(self, timeout=30):
        """Wait for the firmware's SELFTEST line (no host needed); SimError if it fails."""
        deadline = time.monotonic() + timeout
        while (state := self.boot_state()) is None:
            if time.monotonic() > deadline:
                raise SimError(f"the virtual reader did not boot within {timeout} s")
            time.sleep(0.05)
        if state != "booted":
            raise SimError(state)

    def handle_control(self, request):
        op = request.get("op")
        if op == "tap":
            path = self.devices.tap(request["card"])
            return {"ok": True, "card": str(path)}
        if op == "remove":
            self.devices.remove()
            return {"ok": True}
        if op == "scan":
            self.devices.scan(request["text"])
            return {"ok": True}
        if op == "press":
            self.devices.press(request["keys"])
            return {"ok": True, "pressed": request["keys"]}
        if op == "battery":
            self.devices.set_battery(request["mv"])
            return {"ok": True, "mv": self.devices.battery.mv}
        if op == "status":
            status = {"ok": True, "board": self.board, "port": self.port,
                      "running": self.running(), "feedback": self.bus.records[-20:],
                      "radio": self.devices.radio(reset=bool(request.get("reset")))}
            if self.devices.battery is not None:
                status["battery_mv"] = self.devices.battery.mv
            return status
        return {"error": f"unknown request {op!r}: use tap, remove, scan, press, battery or "
                         "status"}

    def running(self):
        return self.process is not None and self.process.poll() is None

    def firmware_output(self):
        """The last few KB the firmware printed (its REPL output: tracebacks and all)."""
        if self.usb is None:
            return ""
        return bytes(self.usb.firmware_output).decode("utf-8", "replace")

    def failure(self):
        """Why the firmware cannot answer, as a sentence, or None if nothing is seen wrong:
        it ran out of memory (a MemoryError in its output) or its process exited."""
        output = self.firmware_output()
        if "MemoryError" in output:
            return (f"the firmware ran out of memory in a {_kib(parse_size(self.heapsize))} "
                    f"heap: give --heapsize more (default on {self.board}: "
                    f"{self.info.get('heapsize', DEFAULT_HEAP)})")
        if self.process is not None and not self._resetting and \
                self.process.poll() not in (None, RESET_EXIT):
            last = [line for line in output.splitlines() if line.strip()][-1:]
            return (f"the firmware process exited (status {self.process.returncode})"
                    + (f": {last[0].strip()}" if last else ""))
        return None

    def boot_state(self):
        """"booted" once the firmware printed its SELFTEST line, None while it boots, else
        why it did not boot, as a sentence (out of memory, exited, an error at boot)."""
        head = bytes(self.usb.firmware_head) if self.usb else b""
        if b"SELFTEST " in head:
            return "booted"
        problem = self.failure()
        if problem:
            return problem
        if b"does not mount as littlefs" in head:
            return (f"the flash image {self.flash_image} does not mount as littlefs and is not "
                    "blank: not formatted (its data would be lost); start hcterm sim with "
                    "--format to format it, or give another --flash")
        if b"Traceback (most recent call last)" in head:
            return "the firmware stopped with an error at boot: " + self.last_lines(1)[0]
        return None

    def last_lines(self, count=8):
        """The firmware's last `count` non-empty output lines (REPL prompts left out)."""
        lines = [line.strip() for line in self.firmware_output().splitlines()]
        lines = [line for line in lines if line and not line.startswith((">>>", "MicroPython",
                                                                         "Type \"help"))]
        return lines[-count:] or ["(no output)"]

    def open_reader(self, open_timeout=30, **kwargs):
        """A link.Reader on this reader's port, once its firmware answers hello; SimError
        at once (not after open_timeout) if the firmware runs out of memory or exits."""
        from ..link import LinkTimeout, Reader

        reader = Reader(self.port, connect=False, open_timeout=open_timeout, **kwargs)
        outcome = queue.Queue()

        def opener():
            try:
                reader.open()
                outcome.put(None)
            except Exception as error:  # noqa: BLE001 - handed to the caller's thread
                outcome.put(error)

        threading.Thread(target=opener, name="vr-open", daemon=True).start()
        while True:
            try:
                error = outcome.get(timeout=0.2)
            except queue.Empty:
                problem = self.failure()
                if problem:
                    reader.close()
                    raise SimError(problem) from None
                continue
            if error is None:
                return reader
            if isinstance(error, LinkTimeout):
                raise SimError(self.failure() or f"the virtual reader did not answer within "
                               f"{open_timeout} s: {error}") from None
            raise error

    def stop(self, timeout=5):
        self._stopping = True
        if self._watcher is not None:
            self._watcher.join(timeout=1)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._control:
            self._control.close()
        if self.usb:
            self.usb.close()
        if self.bus:
            self.bus.close()
        self.devices.remove()
        shutil.rmtree(self._rundir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def wait_for_line(port, prefix, timeout=20):
    """Open the reader's port and return the first line starting with `prefix`."""
    import serial

    deadline = time.monotonic() + timeout
    with serial.serial_for_url(str(port), 115200, timeout=0.2) as ser:
        buf = b""
        while time.monotonic() < deadline:
            buf += ser.read(4096)
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace").strip("\r")
                if text.startswith(prefix):
                    return text
    raise SimError(f"the virtual reader did not print {prefix!r} within {timeout} s")

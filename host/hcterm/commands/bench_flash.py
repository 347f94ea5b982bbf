"""`hcterm bench flash`: production flashing against the development copy, on virtual
readers whose USB port is paced as a UART (default 115200 baud: a board behind a USB-UART
bridge), in one run (docs/flashing.md, "Measured"):

- full_deploy_s: `hcterm flash` of a fresh reader, start to self-test passed (probe,
  compile, compare, write, verify, config, reset, self-test); its parts: write_s (writing
  and verifying the ROM image), until_reset_s (everything before the reset), verify_s (the
  hashes read back);
- one_module_s: the same after one module changed (a constant added), until the reset:
  only the ROM blocks of that module (and block 0) are written; one_module_total_s with the
  reset and self-test;
- mpremote_cp_s: the baseline, `mpremote cp -r` of the board's .py sources onto a reader of
  the same pacing (handed to the REPL first), as `invoke flash` used to do;
- speedup_vs_mpremote_cp = mpremote_cp_s / full_deploy_s;
- parallel_s: `--parallel N` fresh readers flashed at once (0: skipped).
"""

import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..sim.virtualreader import DEFAULT_BOARD, VirtualReader
from .argtypes import count

TARGETS = {"speedup_vs_mpremote_cp": 3.0, "one_module_s": 2.0}
CHANGED = "reader/terminal/qr_scan.py"


def add_arguments(p):
    p.add_argument("--board", default=DEFAULT_BOARD, help=f"sim board (default {DEFAULT_BOARD})")
    p.add_argument("--baud", type=count, default=115200,
                   help="the USB port's pace in baud (default 115200; 0: unpaced)")
    p.add_argument("--parallel", type=count, default=8,
                   help="also flash this many fresh readers at once (default 8; 0: skip)")


def run(args):
    from ..flashing import build
    from ..flashing.deploy import flash_device

    baud = args.baud or None
    result = {"board": args.board, "baud": args.baud}
    with tempfile.TemporaryDirectory(prefix="hcterm-bench-flash-") as work:
        work = Path(work)
        with VirtualReader(args.board, flash=work / "a.img", usb_baud=baud) as vr:
            _booted(vr)
            t = time.monotonic()
            full = flash_device(vr.port, args.board)
            result["full_deploy_s"] = round(time.monotonic() - t, 3)
            result.update(write_s=full["deploy_s"], until_reset_s=full["until_reset_s"],
                          verify_s=full["verify_s"], full_written_bytes=full["written_bytes"])
            source = dict(build.romimage.sources(args.board))[CHANGED]
            changed = work / "changed.py"
            changed.write_text(Path(source).read_text() + "\nBENCH_CHANGE = 'one module'\n")

            def compiled(target):
                return build.compile_firmware(args.board, target, replace={CHANGED: changed})

            t = time.monotonic()
            one = flash_device(vr.port, args.board, compiled=compiled)
            result.update(one_module_s=one["until_reset_s"],
                          one_module_total_s=round(time.monotonic() - t, 3),
                          one_module_written_bytes=one["written_bytes"])
        result["mpremote_cp_s"] = _mpremote_cp(args.board, work, baud)
        result["speedup_vs_mpremote_cp"] = round(result["mpremote_cp_s"]
                                                 / result["full_deploy_s"], 2)
        if args.parallel:
            result["parallel"] = args.parallel
            result["parallel_s"] = _parallel(args.board, work, baud, args.parallel)
    result["targets"] = TARGETS
    result["ok"] = (result["speedup_vs_mpremote_cp"] >= TARGETS["speedup_vs_mpremote_cp"]
                    and result["one_module_s"] <= TARGETS["one_module_s"])
    return result


def _mpremote_cp(board, work, baud):
    """Seconds of `mpremote resume connect PORT cp -r reader :` (the board's .py sources)."""
    from ..firmware_modules import board_files
    from ..link import Reader

    staging = work / "sources"
    for name, path in board_files(board).items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, staging / name)
    # 256k: mpremote's copy at the REPL beside what the link server loaded (test_tasks_flash)
    with VirtualReader(board, flash=work / "cp.img", usb_baud=baud, heapsize="256k") as vr:
        with Reader(vr.port, timeout=10, open_timeout=30) as reader:
            reader.handoff()
        t = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "mpremote", "resume", "connect", vr.port,
                               "cp", "-r", "reader", ":"], cwd=staging, capture_output=True,
                              text=True, timeout=600)
        seconds = time.monotonic() - t
        if proc.returncode != 0:
            raise RuntimeError(f"mpremote cp failed: {proc.stderr.strip()[-300:]}")
    return round(seconds, 3)


def _parallel(board, work, baud, n):
    from ..flashing.deploy import flash_device

    readers = [VirtualReader(board, flash=work / f"p{i}.img", usb_baud=baud) for i in range(n)]
    try:
        for vr in readers:
            vr.start()
        for vr in readers:
            _booted(vr)
        t = time.monotonic()
        with ThreadPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(lambda vr: flash_device(vr.port, board), readers))
        seconds = time.monotonic() - t
        if not all(r["selftest_ok"] for r in results):
            raise RuntimeError("a reader failed its self-test in the parallel run")
    finally:
        for vr in readers:
            vr.stop()
    return round(seconds, 3)


def _booted(vr):
    """Wait until the reader's firmware answers (a flash of a reader still booting would
    time its boot too)."""
    from ..link import Reader

    with Reader(vr.port, timeout=10, open_timeout=30):
        pass

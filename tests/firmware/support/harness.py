# Runs inside the `micropython` binary: imports one firmware test module (mptest_*.py) and
# runs its tests, reporting each to pytest (tests/conftest.py) on stdout.
#
# Usage: micropython -X heapsize=N harness.py MODULE [TEST ...]
# Protocol on stdout, one line per test, between the test's own output:
#   @@mptest <name> ok|fail <elapsed_us>
# followed, for a failure, by the MicroPython traceback and a line "@@end".
# tests/conftest.py turns these into pytest results.
import io
import sys
import time


def _run(module_name, wanted):
    module = __import__(module_name)
    names = [n for n in dir(module) if n.startswith("test_")]
    # dir() order is hash order on MicroPython: sort by line in the file is not available,
    # so run tests in name order; tests must not depend on each other.
    names.sort()
    if wanted:
        names = [n for n in names if n in wanted]
    print("@@mptest-collected", " ".join(names))
    failures = 0
    for name in names:
        function = getattr(module, name)
        start = time.ticks_us()
        try:
            function()
        except Exception as error:  # report every failure, keep running the rest
            failures += 1
            out = io.StringIO()
            sys.print_exception(error, out)
            print("@@mptest", name, "fail", time.ticks_diff(time.ticks_us(), start))
            print(out.getvalue())
            print("@@end")
        else:
            print("@@mptest", name, "ok", time.ticks_diff(time.ticks_us(), start))
    return failures


def _mount_rom():
    # `# firmware: romfs` modules: the firmware imports in place from a ROMFS image.
    import os

    import vfs

    image = os.getenv("MPTEST_ROMFS")
    if image:
        with open(image, "rb") as f:
            vfs.mount(vfs.VfsRom(f.read()), "/rom")
        sys.path.insert(0, "/rom")


_mount_rom()
sys.exit(1 if _run(sys.argv[1], sys.argv[2:]) else 0)

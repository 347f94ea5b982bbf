"""Replacing a file on the reader's flash in one step: the one way every writer of the reader
does it (settings, the blacklist's delta, the tap journal's repair of a damaged segment; the
journal's 12-byte head and `hcterm flash`'s manifest, config and font follow the same rule
without importing it: reader.terminal.journal._head, host/hcterm/flashing/deploy.py).
Transient: called through `reader.call("terminal.atomic_file", …)` and let go after it.

    replace(path, data, size, *args)  data (bytes, or a function writing into the open file)
                        goes to path + ".tmp", is flushed and closed (littlefs commits the
                        file), then renamed over `path`: a power cut at any moment leaves
                        the old file or the new one, never half of one or none
    check(path, size, name)  the free-space check replace() makes before the first byte
    remove(path)        a file removed if it is there
    clean(*folders)     the boot's clean-up: every `*.tmp` a cut left in `folders`

Free space is checked before anything is written: `size` bytes (default: the data's length)
plus littlefs's working room (three blocks beside a new file); an update that cannot fit is
refused with an OSError whose text names the bytes needed and free and what to do. Nothing is
checked for `size` 0 (a file of a few bytes lives inside its folder's metadata).

Every name here is one the firmware has already (check, replace, remove, clean, path, size,
name, data, args): on the virtual reader each new identifier of a module is interned in its
heap for good (docs/firmware-memory.md).
"""

import os


def check(path, size, name=None):
    """OSError when `size` bytes (plus littlefs's three blocks) do not fit on the flash that
    holds `path`; `name` names the update in the message (default: the file)."""
    st = os.statvfs(path[0:path.rfind("/")] or "/")
    size += 3 * st[0]
    free = st[0] * st[3]
    if size > free:
        raise OSError("not enough flash: %s needs %d bytes, %d are free; free some (abort an "
                      "open blacklist download, let the host collect the tap journal) or "
                      "send less, then try again" % (name or path, size, free))


def replace(path, data, size=None, *args):
    """Replace file `path` by `data` (bytes, or a function called with the open binary file
    and `args` that writes into it) in one step; `size`: the bytes it takes (default
    len(data)). An exception of the writer removes the temporary file and leaves `path` as it
    was."""
    if size != 0:
        check(path, len(data) if size is None else size)
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f, *args)
            else:
                f.write(data)
            f.flush()
    except BaseException:
        remove(tmp)
        raise
    os.rename(tmp, path)


def remove(path):
    """Remove file `path` if it is there."""
    try:
        os.remove(path)
    except OSError:
        pass


def clean(*args):
    """At boot, before any writer opens its files: remove every `*.tmp` in the folders `args`
    (what a power cut in a replace() left: a writer's temporary file is never kept across
    requests)."""
    for folder in args:
        try:
            for name in os.listdir(folder):
                if name.endswith(".tmp"):
                    remove(folder.rstrip("/") + "/" + name)
        except OSError:
            pass                          # (no such folder yet)

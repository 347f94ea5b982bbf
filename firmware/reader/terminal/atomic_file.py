"""Replacing a file on the reader's flash in one step: the one way every writer of the reader
does it (settings, the blacklist's delta, the tap journal; `hcterm flash` follows the same rule
for the device's manifest, its config and the font, see host/hcterm/flashing/deploy.py).
Transient: called through `reader.call("terminal.atomic_file", …)` and let go after it.

    replace(path, data, need)   data (bytes, or a function writing into the open file) goes
                                to path + TMP, is flushed and closed (littlefs commits the
                                file), then renamed over `path`: a power cut at any moment
                                leaves the old file or the new one, never half of one or none
    room(path, need, what)      the free-space check replace() makes before the first byte
    clean(*folders)             the boot's clean-up: every `*.tmp` a cut left in `folders`

Free space is checked before anything is written: `need` bytes (default: the data's length)
plus littlefs's working room (three blocks beside a new file); an update that cannot fit is
refused with an OSError whose text names the bytes needed and free and what to do. Nothing is
checked for `need` 0: a file of a few bytes (the journal's head) lives inside its folder's
metadata, and refusing it would keep a full flash full (it is what lets the journal drop what
was delivered).
"""

import os

TMP = ".tmp"          # the temporary name: the target's name + TMP, in the target's folder


def room(path, need, what=None):
    """OSError when `need` bytes (plus littlefs's three blocks) do not fit on the flash that
    holds `path`; `what` names the update in the message (default: the file)."""
    st = os.statvfs(path[0:path.rfind("/")] or "/")
    need += 3 * st[0]
    free = st[0] * st[3]
    if need > free:
        raise OSError("not enough flash: %s needs %d bytes, %d are free; free some (abort an "
                      "open blacklist download, let the host collect the tap journal) or "
                      "send less, then try again" % (what or path, need, free))


def replace(path, data, need=None):
    """Replace file `path` by `data` (bytes, or a function that writes into the open binary
    file) in one step; `need`: the bytes it takes (default len(data)). An exception of the
    writer removes the temporary file and leaves `path` as it was."""
    if need is None:
        need = len(data)
    if need:
        room(path, need)
    tmp = path + TMP
    try:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
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


def clean(*folders):
    """At boot, before any writer opens its files: remove every `*.tmp` in `folders` (what a
    power cut in a replace() left: a writer's temporary file is never kept across requests);
    -> how many."""
    n = 0
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue                      # (no such folder yet)
        for name in names:
            if name.endswith(TMP):
                remove(folder.rstrip("/") + "/" + name)
                n += 1
    return n

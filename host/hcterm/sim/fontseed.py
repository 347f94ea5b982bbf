"""The display font on a sim board's flash: a board with a display keeps its font file on
its littlefs (board.FONT, docs/display.md), as `hcterm image build` puts it on a real
handheld's. Before the virtual reader boots such a board, the font goes into its flash
image (littlefs-python, the geometry MicroPython's VfsLfs2 mounts: 4 KiB blocks, read and
program size 32, lookahead 32); a blank image is formatted for it, one that holds
something else than littlefs is left alone (the screens then report the missing font).

Not in the ROMFS image: the unix port keeps that image in its heap, and a 144 KB font
there cost the firmware ~16 KB of heap at the first tap (docs/firmware-memory.md)."""

from pathlib import Path

from .. import fontbuild

BLOCK = 4096


def seed(flash_image, blocks, blank):
    """Put the font at /font16.hcf in the littlefs of `flash_image` (`blocks` of 4 KiB)
    unless it is there already; `blank`: the image is erased (format it). True if the font
    is there afterwards."""
    from littlefs import LittleFS, LittleFSError

    data = fontbuild.build().read_bytes()
    path = Path(flash_image)
    fs = LittleFS(block_size=BLOCK, block_count=blocks, read_size=32, prog_size=32,
                  lookahead_size=32, mount=False)
    if blank:
        fs.format()
    else:
        image = path.read_bytes()
        if len(image) != BLOCK * blocks:
            return False
        fs.context.buffer[:] = image
    try:
        fs.mount()
        name = "/" + fontbuild.FILENAME
        try:
            with fs.open(name, "rb") as f:
                if f.read() == data:
                    return True
        except (LittleFSError, OSError):
            pass            # not there yet
        with fs.open(name, "wb") as f:
            f.write(data)
    except LittleFSError:
        return False       # not littlefs: the firmware will refuse or format it
    path.write_bytes(bytes(fs.context.buffer))
    return True

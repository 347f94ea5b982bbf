"""An emulated SSD1306 (Solomon Systech SSD1306 datasheet, rev 1.1): the 128x64 dot-matrix
OLED controller on the I2C bus, with its command set and its 128x64 graphic display data RAM
(GDDRAM: 8 pages of 128 bytes, each byte a column of 8 pixels, LSB on top).

I2C (datasheet 8.1.5): the slave address is 0b011110 + SA0 (0x3C or 0x3D); every write
transaction is a stream of control bytes each followed by data: control byte Co D/C# 000000 —
Co = 1: one byte follows, then another control byte; Co = 0: every byte up to the STOP is of
the same kind; D/C# = 0: command bytes, 1: GDDRAM data. A command's parameter bytes may come
in later transactions (micropython-lib's driver sends every byte as `80 xx`). Reads: the
status byte (D6 = 1 while the display is off), as the 8080/6800 interfaces give it.

Commands (datasheet 9, 10): contrast 81, entire display A4/A5, normal/inverse A6/A7, display
off/on AE/AF, scrolling 26/27/29/2A (parameters kept, not animated), 2E/2F, A3, column start
00-0F/10-1F (page mode), memory addressing mode 20 (00 horizontal, 01 vertical, 02 page;
03 is invalid and ignored), column address 21, page address 22, page start B0-B7, display
start line 40-7F, segment remap A0/A1, multiplex ratio A8 (15-63; 0-14 are invalid),
COM scan direction C0/C8, display offset D3, COM pins DA, clock D5, pre-charge D9, VCOMH DB,
NOP E3, and the charge pump 8D (application note: 14 on, 10 off). A byte that is no command
of the datasheet is ignored by the chip; the emulator ignores it too and counts it in
`ignored` (tests check that the driver sends none).

The glass: the panel shows light only while the display is on (AF) with the charge pump
enabled (the module has no external VCC). How GDDRAM reaches the glass follows the
datasheet's remaps, for a 128x64 module wired as the common ones are: glass column x is SEG
127-x (so segment remap A1 puts column 0 at the left), glass row y is COM 63-y (so scan
direction C8 puts row 0 on top), COM pins in the alternative configuration (DA 12; the
sequential one, DA 02, interleaves the rows), display start line and offset rotate the rows,
the multiplex ratio darkens the rows beyond it, inverse swaps lit and dark, A5 lights all.
`image()` gives the glass as 64 rows of 128 booleans.
"""

import threading

from .bus_device import I2cDevice

WIDTH = 128
HEIGHT = 64
PAGES = HEIGHT // 8
ADDRESSES = (0x3C, 0x3D)      # 0b011110 + SA0

# command byte -> parameter bytes that follow it (datasheet 9, table 9-1)
_PARAMS = {0x81: 1, 0x26: 6, 0x27: 6, 0x29: 5, 0x2A: 5, 0xA3: 2, 0x20: 1, 0x21: 2, 0x22: 2,
           0xA8: 1, 0xD3: 1, 0xDA: 1, 0xD5: 1, 0xD9: 1, 0xDB: 1, 0x8D: 1}
_SINGLE = {0xA4, 0xA5, 0xA6, 0xA7, 0xAE, 0xAF, 0x2E, 0x2F, 0xA0, 0xA1, 0xC0, 0xC8, 0xE3}


class Ssd1306(I2cDevice):
    def __init__(self, address=0x3C):
        super().__init__()
        if address not in ADDRESSES:
            raise ValueError(f"an SSD1306 answers at 0x3C or 0x3D (SA0), not {address:#x}")
        self.address = address
        self.gddram = bytearray(WIDTH * PAGES)
        self.ignored = []          # bytes the chip ignored (no command of the datasheet)
        self.frames = 0            # data writes that ended a frame (for screen capture)
        self._lock = threading.Lock()
        self._listeners = []
        self._command = []         # a command waiting for its parameters
        self.reset()

    def reset(self):
        """The state after RES# (datasheet 10: the reset values)."""
        self.display_on = False
        self.contrast = 0x7F
        self.entire_on = False
        self.inverse = False
        self.mode = 2              # page addressing
        self.col_start, self.col_end = 0, WIDTH - 1
        self.page_start, self.page_end = 0, PAGES - 1
        self.column, self.page = 0, 0
        self.start_line = 0
        self.seg_remap = False
        self.mux = 64
        self.com_remap = False
        self.offset = 0
        self.com_pins = 0x12
        self.clock = 0x80
        self.precharge = 0x22
        self.vcomh = 0x20
        self.charge_pump = False
        self.scroll = None
        self.scrolling = False

    def watch_frames(self, listener):
        """`listener(device)` after each data write and each display on/off or inversion."""
        self._listeners.append(listener)

    # -- I2C ---------------------------------------------------------------------------
    def on_write(self, data):
        with self._lock:
            changed = self._transaction(bytes(data))
        if changed:
            for listener in list(self._listeners):
                listener(self)
        return len(data)

    def on_read(self, count):
        status = 0x40 if not self.display_on else 0x00
        return bytes([status]) * count

    def _transaction(self, data):
        i, changed = 0, False
        while i < len(data):
            control = data[i]
            i += 1
            single, is_data = control & 0x80, control & 0x40
            end = i + 1 if single else len(data)
            chunk = data[i:end]
            i = end
            if is_data:
                self._data(chunk)
                self.frames += 1
                changed = True
            else:
                for byte in chunk:
                    changed |= self._command_byte(byte)
        return changed

    # -- commands -------------------------------------------------------------------------
    def _command_byte(self, byte):
        if self._command:
            self._command.append(byte)
            if len(self._command) <= _PARAMS[self._command[0]]:
                return False
            command, self._command = self._command, []
            return self._with_params(command[0], command[1:])
        if byte in _PARAMS:
            self._command = [byte]
            return False
        return self._single(byte)

    def _single(self, byte):
        before = (self.display_on, self.inverse, self.entire_on)
        if byte in (0xAE, 0xAF):
            self.display_on = byte == 0xAF
        elif byte in (0xA4, 0xA5):
            self.entire_on = byte == 0xA5
        elif byte in (0xA6, 0xA7):
            self.inverse = byte == 0xA7
        elif byte in (0xA0, 0xA1):
            self.seg_remap = byte == 0xA1
        elif byte in (0xC0, 0xC8):
            self.com_remap = byte == 0xC8
        elif byte in (0x2E, 0x2F):
            self.scrolling = byte == 0x2F
        elif byte <= 0x0F and self.mode == 2:
            self.column = (self.column & 0xF0) | byte
        elif 0x10 <= byte <= 0x1F and self.mode == 2:
            self.column = ((byte & 0x07) << 4) | (self.column & 0x0F)
        elif 0x40 <= byte <= 0x7F:
            self.start_line = byte & 0x3F
        elif 0xB0 <= byte <= 0xB7 and self.mode == 2:
            self.page = byte & 0x07
        elif byte != 0xE3:
            self.ignored.append(byte)
        return before != (self.display_on, self.inverse, self.entire_on)

    def _with_params(self, command, params):
        p = params[0]
        if command == 0x81:
            self.contrast = p
        elif command == 0x20:
            if p & 0x03 == 0x03:
                self.ignored.append(p)           # "03: invalid"
            else:
                self.mode = p & 0x03
        elif command == 0x21:
            self.col_start, self.col_end = p & 0x7F, params[1] & 0x7F
            self.column = self.col_start
        elif command == 0x22:
            self.page_start, self.page_end = p & 0x07, params[1] & 0x07
            self.page = self.page_start
        elif command == 0xA8:
            if p & 0x3F < 15:
                self.ignored.append(p)           # "0 to 14 are invalid entry"
            else:
                self.mux = (p & 0x3F) + 1
        elif command == 0xD3:
            self.offset = p & 0x3F
        elif command == 0xDA:
            self.com_pins = p & 0x32
        elif command == 0xD5:
            self.clock = p
        elif command == 0xD9:
            self.precharge = p
        elif command == 0xDB:
            self.vcomh = p & 0x70
        elif command == 0x8D:
            self.charge_pump = bool(p & 0x04)
            return True
        else:                                    # scrolling set-up: kept, not animated
            self.scroll = (command, bytes(params))
        return False

    # -- GDDRAM ---------------------------------------------------------------------------
    def _data(self, chunk):
        for byte in chunk:
            self.gddram[self.page * WIDTH + self.column] = byte
            self._advance()

    def _advance(self):
        if self.mode == 2:                       # page mode: the column wraps in its page
            self.column = 0 if self.column == WIDTH - 1 else self.column + 1
        elif self.mode == 0:                     # horizontal: column, then page
            if self.column >= self.col_end:
                self.column = self.col_start
                self.page = self.page_start if self.page >= self.page_end else self.page + 1
            else:
                self.column += 1
        else:                                    # vertical: page, then column
            if self.page >= self.page_end:
                self.page = self.page_start
                self.column = self.col_start if self.column >= self.col_end \
                    else self.column + 1
            else:
                self.page += 1

    def ram_pixel(self, column, line):
        return bool(self.gddram[(line // 8) * WIDTH + column] >> (line % 8) & 1)

    def lit(self):
        """Whether the glass shows anything: display on and its supply (the charge pump)."""
        return self.display_on and self.charge_pump

    def image(self):
        """The glass, 64 rows of 128 booleans (True: lit)."""
        with self._lock:
            return [[self._glass(x, y) for x in range(WIDTH)] for y in range(HEIGHT)]

    def _glass(self, x, y):
        if not self.lit():
            return False
        if self.entire_on:
            return True
        seg = WIDTH - 1 - x
        column = WIDTH - 1 - seg if self.seg_remap else seg
        com = HEIGHT - 1 - y
        if not self.com_pins & 0x10:             # sequential on a panel wired alternately
            com = com // 2 + (com % 2) * (HEIGHT // 2)
        if self.com_pins & 0x20:                 # COM left/right remap
            com = (com + HEIGHT // 2) % HEIGHT
        row = self.mux - 1 - com if self.com_remap else com
        if not 0 <= row < self.mux:
            return False
        line = (row + self.start_line + self.offset) % HEIGHT
        return self.ram_pixel(column, line) != self.inverse

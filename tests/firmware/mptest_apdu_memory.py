# Bytes allocated per APDU round trip (gc.mem_alloc, GC disabled) through each channel, with
# transports that allocate nothing themselves. The figures are written in docs/firmware-memory.md.
import gc

from fake_buses import ACK, RSP, h

# Imported one by one with a collection between: compiling .py source needs contiguous heap
# (on a board the modules are frozen bytecode and cost no heap to import).
gc.collect()
import reader  # noqa: E402
from reader.protocols.apdu import PN532Channel, SAMChannel  # noqa: E402

gc.collect()
from reader.chips.pn532_uart import PN532_UART  # noqa: E402

gc.collect()
from reader.protocols.iso14443_4 import TCL  # noqa: E402

gc.collect()
from reader.chips.sam_slot import SAMSlot  # noqa: E402

gc.collect()

ROUNDS = 50
BUDGET = 320          # bytes per round trip (x64 unix port); the figures are printed


class ReplayUART:
    """Answers every write with the same canned bytes; copies without allocating."""

    def __init__(self, reply):
        self.reply = bytearray(reply)
        self.pos = len(self.reply)

    def write(self, buf):
        self.pos = 0
        return len(buf)

    def any(self):
        return len(self.reply) - self.pos

    def readinto(self, buf, nbytes=-1):
        n = min(len(buf), len(self.reply) - self.pos)
        if not n:
            return None
        r, p = self.reply, self.pos
        for i in range(n):
            buf[i] = r[p + i]
        self.pos = p + n
        return n

    def init(self, **kw):
        pass


ATS = bytes((5, 0x78, 0x80, 0x70, 0x02))


class ReplayFrames:
    fsdi = 8
    max_frame = 256

    def __init__(self, block):
        self.block = bytearray(block)

    def frame_exchange(self, data, out, timeout_us):
        b = self.block
        if data[0] == 0xE0:                          # RATS
            b = ATS
        else:
            b[0] = 0x02 | (data[0] & 1)
        for i in range(len(b)):
            out[i] = b[i]
        return len(b)


class Pin:
    def __init__(self, uart=None):
        self.uart = uart

    def on(self):                     # releasing RST makes the SAM send its ATR
        if self.uart:
            self.uart.pos = 0

    def off(self):
        pass


def measure(channel, apdu):
    channel.transceive(apdu)          # warm up (first-call allocations)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(ROUNDS):
            data, sw = channel.transceive(apdu)
        per = (gc.mem_alloc() - before) // ROUNDS
    finally:
        gc.enable()
    assert sw == 0x9000 and len(data) == 16
    return per


def test_bytes_per_apdu_round_trip():
    apdu = h("00 B0 00 00 10")
    answer = bytes(range(16)) + h("90 00")
    uart = ReplayUART(ACK() + RSP("15"))
    drv = PN532_UART(uart)
    uart.reply = bytearray(ACK() + RSP(b"\x41\x00" + answer))
    pn532 = measure(PN532Channel(drv, 1), apdu)

    tcl = TCL(ReplayFrames(b"\x02" + answer))
    tcl.activate()
    t_cl = measure(tcl, apdu)

    sam_uart = ReplayUART(h("3B 00"))
    sam = SAMSlot(sam_uart, Pin(sam_uart))
    sam.reset_ms = 0
    reader.call("chips.sam_activation", "reset", sam)
    sam_uart.reply = bytearray(h("B0") + answer)
    t0 = measure(SAMChannel(sam), apdu)

    print("bytes per APDU round trip: PN532 InDataExchange %d, T=CL %d, SAM T=0 %d"
          % (pn532, t_cl, t0))
    for figure in (pn532, t_cl, t0):
        assert figure <= BUDGET, figure

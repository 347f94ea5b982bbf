# simbus: support.emu_benches:loopback
# The sim board's transports against the sim bus: UART bytes, timeouts, any(), baud changes
# on the control channel, SPI full duplex with chip select and LSB-first, GPIO, polling.
import select
import time

from simhal import UART, Pin, record
from simspi import SPI, ChipSelect


def test_uart_round_trip_is_byte_exact():
    uart = UART("loop", 115200, timeout=500)
    payload = bytes(range(256)) * 3  # every byte value, incl. 0x03/0x04/0x00
    assert uart.write(payload) == len(payload)
    got = bytearray(len(payload))
    assert uart.readinto(got) == len(payload)
    assert got == payload
    uart.deinit()


def test_uart_read_times_out_with_none():
    uart = UART("silent", 115200, timeout=80)
    start = time.ticks_ms()
    assert uart.read(4) is None
    waited = time.ticks_diff(time.ticks_ms(), start)
    assert 70 <= waited < 400, waited
    assert uart.any() == 0
    uart.deinit()


def test_uart_any_and_partial_read():
    uart = UART("loop", 115200, timeout=300, timeout_char=20)
    uart.write(b"\x00\x00\xff\x00\xff\x00")
    deadline = time.ticks_add(time.ticks_ms(), 500)
    while uart.any() < 6 and time.ticks_diff(deadline, time.ticks_ms()) > 0:
        pass
    assert uart.any() == 6
    assert uart.read(2) == b"\x00\x00"
    # asks for 10, gets the 4 that came, after timeout_char
    assert uart.read(10) == b"\xff\x00\xff\x00"
    uart.deinit()


def test_uart_is_pollable_for_asyncio():
    uart = UART("loop", 115200, timeout=300)
    poller = select.poll()
    poller.register(uart, select.POLLIN)
    assert poller.poll(0) == []
    uart.write(b"Z")
    # poll returns as soon as the byte is there; the limit only bounds a loaded machine (the
    # loopback device answers from the host's bus thread, which CI's other jobs can delay)
    events = poller.poll(5000)
    assert events and events[0][0] is uart, events
    assert uart.read(1) == b"Z"
    uart.deinit()


def test_spi_full_duplex_msb_and_lsb_first():
    spi = SPI("loop", 1000000)
    cs = ChipSelect(spi)
    cs(0)
    out = bytearray(3)
    spi.write_readinto(b"\x01\x02\xf0", out)
    cs(1)
    assert out == b"\xfe\xfd\x0f", out  # the loopback device complements each byte
    spi.init(firstbit=SPI.LSB)
    # LSB first: the device sees 0x01 as 0x80 on the wire, answers ~0x80 = 0x7F, which the
    # peripheral hands back bit-reversed: 0xFE. Complement commutes with reversal.
    spi.write_readinto(b"\x01", out[:1])
    assert out[0] == 0xFE


def test_spi_lsb_refused_where_the_port_cannot():
    try:
        SPI("loop", 1000000, firstbit=SPI.LSB, lsb_capable=False)
    except ValueError:
        pass
    else:
        raise AssertionError("an MSB-only SPI accepted firstbit=LSB")


def test_gpio_lines_and_records_reach_the_sim():
    led = Pin("led", Pin.OUT, value=1)
    assert led.value() == 1
    led.off()
    irq = Pin("loop.irq", Pin.IN)
    assert irq.value() == 1  # an undriven line reads high (pull-up)
    record("display", text="请刷卡")


def test_lsb_first_emulation_reverses_every_byte():
    import simspi

    for value in range(256):
        r = 0
        for bit in range(8):
            if value & (1 << bit):
                r |= 0x80 >> bit
        assert simspi._reverse(value) == r, value

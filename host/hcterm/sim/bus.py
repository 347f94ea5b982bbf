"""The sim bus: serves emulated devices to the sim board HAL (boards/sim-common/simhal.py).

One AF_UNIX stream socket per UART and per SPI device, plus the control channel, all in one
directory (the firmware finds it in $HCTERM_SIM_DIR). Wire format: docs/sim-bus.md.
Every socket is served by its own thread; devices see only the hooks of
hcterm.emulator.bus_device.
"""

import json
import os
import socket
import threading
import time

from ..emulator.bus_device import I2cDevice, SpiDevice, UartDevice

I2C_NAK = 0xFFFF    # the I2C answer for an address no device acknowledged


class SimBus:
    """Serve `uarts` ({name: UartDevice}) and `spis` ({name: SpiDevice}) in `directory`.

    `records` collects what the board reported for people (LED, beeper, display: the
    feedback) and output pin changes that reach no device, each as a dict with `t` (seconds
    since the bus started)."""

    def __init__(self, directory, uarts=None, spis=None, gpios=None, adcs=None, i2cs=None):
        """`i2cs`: {bus name: [I2cDevice, ...]}, the devices on each I2C bus (by address)."""
        self.directory = str(directory)
        self.uarts = dict(uarts or {})
        self.spis = dict(spis or {})
        self.gpios = dict(gpios or {})   # {name: Device} on GPIO lines only (a keypad)
        self.adcs = dict(adcs or {})     # {name: device with adc_uv()} (a battery divider)
        self.i2cs = {name: list(devices) for name, devices in (i2cs or {}).items()}
        for name, devices in self.i2cs.items():
            for device in devices:
                if not isinstance(device, I2cDevice):
                    raise TypeError(f"I2C {name!r}: {device!r} is not an I2cDevice")
        for name, device in self.uarts.items():
            if not isinstance(device, UartDevice):
                raise TypeError(f"UART {name!r}: {device!r} is not a UartDevice")
        for name, device in self.spis.items():
            if not isinstance(device, SpiDevice):
                raise TypeError(f"SPI {name!r}: {device!r} is not an SpiDevice")
        self.records = []
        self.pins = {}
        self.baudrates = {}
        self._started = time.monotonic()
        self._listeners = []
        self._closing = False
        self._lock = threading.Lock()
        self.watchdog = SimWatchdog()
        self.stalls = {}        # pin name -> monotonic deadline: its writes hang until then

    # -- life cycle ---------------------------------------------------------------------
    def start(self):
        os.makedirs(self.directory, exist_ok=True)
        for name, device in self.uarts.items():
            self._listen(f"uart-{name}.sock", self._serve_uart, device)
        for name, device in self.spis.items():
            self._listen(f"spi-{name}.sock", self._serve_spi, device)
        for name, devices in self.i2cs.items():
            self._listen(f"i2c-{name}.sock", self._serve_i2c, devices)
        self._listen("control.sock", self._serve_control, None)
        return self

    def close(self):
        self._closing = True
        for sock, path in self._listeners:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            try:
                os.unlink(path)
            except OSError:
                pass
        for device in self.uarts.values():
            device.connect(None)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def _listen(self, filename, handler, device):
        path = os.path.join(self.directory, filename)
        if os.path.exists(path):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(4)
        self._listeners.append((sock, path))
        threading.Thread(target=self._accept, args=(sock, handler, device),
                         name=f"simbus:{filename}", daemon=True).start()

    def _accept(self, sock, handler, device):
        while not self._closing:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._run_handler, args=(handler, conn, device),
                             daemon=True).start()

    def _run_handler(self, handler, conn, device):
        try:
            handler(conn, device)
        except (OSError, ValueError):
            pass  # the firmware went away mid-message: the next connection starts afresh
        finally:
            conn.close()

    def _record(self, **fields):
        fields["t"] = round(time.monotonic() - self._started, 6)
        with self._lock:
            self.records.append(fields)

    # -- UART: raw bytes both ways ------------------------------------------------------
    def _serve_uart(self, conn, device):
        send_lock = threading.Lock()

        def sink(data):
            with send_lock:
                try:
                    conn.sendall(data)
                except OSError:
                    pass  # the firmware end closed; bytes on a dead line are lost

        device.connect(sink)
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                device.on_receive(data)
        finally:
            device.connect(None)

    # -- SPI: 'C' level, 'X' len16 data -> len16 bytes ------------------------------------
    def _serve_spi(self, conn, device):
        stream = conn.makefile("rwb")
        while True:
            op = stream.read(1)
            if not op:
                return
            if op == b"C":
                level = stream.read(1)
                device.on_select(level == b"0")
            elif op == b"X":
                header = stream.read(2)
                length = int.from_bytes(header, "big")
                data = stream.read(length)
                if len(data) != length:
                    return
                reply = bytes(device.transfer(data))
                if len(reply) != length:
                    raise ValueError(f"{device!r} returned {len(reply)} bytes for {length}")
                stream.write(reply)
                stream.flush()
            else:
                raise ValueError(f"sim bus SPI: unknown op {op!r}")

    # -- I2C: 'W' addr len16 data -> acked16; 'R' addr len16 -> status16 data ------------
    def _serve_i2c(self, conn, devices):
        stream = conn.makefile("rwb")
        while True:
            header = stream.read(4)
            if len(header) < 4:
                return
            op, address, length = header[:1], header[1], int.from_bytes(header[2:], "big")
            device = next((d for d in devices if d.address == address), None)
            if op == b"W":
                data = stream.read(length)
                if len(data) != length:
                    return
                acked = I2C_NAK if device is None else device.on_write(data)
                stream.write(acked.to_bytes(2, "big"))
            elif op == b"R":
                data = None if device is None else device.on_read(length)
                if data is None:
                    stream.write(I2C_NAK.to_bytes(2, "big"))
                else:
                    stream.write(b"\0\0" + bytes(data[:length]).ljust(length, b"\xff"))
            else:
                raise ValueError(f"sim bus I2C: unknown op {op!r}")
            stream.flush()

    # -- control: one JSON request per line -> one JSON reply line ------------------------
    def _serve_control(self, conn, _device):
        stream = conn.makefile("rwb")
        for line in stream:
            try:
                reply = self.control(json.loads(line))
            except (ValueError, KeyError, TypeError) as error:
                reply = {"error": f"bad control request {line[:80]!r}: {error}"}
            stream.write(json.dumps(reply).encode() + b"\n")
            stream.flush()

    def control(self, request):
        """Handle one control request (also callable directly, e.g. from tests)."""
        op = request["op"]
        if op == "pin":
            self._stall(request["name"])
            return self._set_pin(request["name"], int(request["value"]))
        if op == "watchdog":
            return self.watchdog.control(request)
        if op == "pin?":
            return {"value": self._get_pin(request["name"])}
        if op == "baud":
            name, baud = request["uart"], int(request["baud"])
            if name not in self.uarts:
                return {"error": f"no UART named {name!r} on this board"}
            self.baudrates[name] = baud
            self.uarts[name].on_host_baudrate(baud)
            return {"ok": True}
        if op == "adc":
            device = self.adcs.get(request["name"])
            if device is None:
                return {"error": f"no ADC input named {request['name']!r} on this board"}
            return {"uv": device.adc_uv()}
        if op == "record":
            fields = {k: v for k, v in request.items() if k != "op"}
            self._record(**fields)
            return {"ok": True}
        return {"error": f"unknown control op {op!r}"}

    def stall(self, pin, seconds):
        """Fault: the firmware's next writes of output `pin` hang for `seconds` (until
        `stalls` is cleared), holding the firmware in a call that does not return, as a
        driver stuck in a busy loop does: its main loop stalls (the watchdog's test)."""
        self.stalls[pin] = time.monotonic() + seconds

    def _stall(self, name):
        while not self._closing and time.monotonic() < self.stalls.get(name, 0):
            time.sleep(0.02)

    def _device_line(self, name):
        device_name, _, line = name.partition(".")
        device = (self.uarts.get(device_name) or self.spis.get(device_name)
                  or self.gpios.get(device_name))
        return (device, line) if device is not None and line else (None, None)

    def _set_pin(self, name, value):
        self.pins[name] = value
        device, line = self._device_line(name)
        if device is not None:
            device.on_line(line, value)
        else:
            self._record(kind="pin", name=name, value=value)
        return {"ok": True}

    def _get_pin(self, name):
        device, line = self._device_line(name)
        if device is not None:
            return device.lines.get(line, 1)  # undriven inputs read high (pull-up)
        return self.pins.get(name, 0)


class SimWatchdog:
    """The sim board's watchdog (boards/sim-common/simhal.py): armed by the firmware with its
    timeout, fed from its main loop, idle while the REPL has the port. `expired()` says when
    the virtual reader must reset the firmware, as a board's WDT resets the chip."""

    def __init__(self):
        self._lock = threading.Lock()
        self.timeout_ms = None      # not started (a firmware boots with it stopped)
        self.fed = 0.0
        self.idle = False
        self.feeds = 0

    def control(self, request):
        with self._lock:
            if "timeout_ms" in request:
                self.timeout_ms = int(request["timeout_ms"])
            if request.get("idle"):
                self.idle = True
            else:
                self.idle = False
                self.fed = time.monotonic()
                self.feeds += 1
        return {"ok": True}

    def expired(self):
        with self._lock:
            return (self.timeout_ms is not None and not self.idle
                    and time.monotonic() - self.fed > self.timeout_ms / 1000)

    def stop(self):
        """The firmware process is gone: a new one starts with its watchdog stopped."""
        with self._lock:
            self.timeout_ms = None
            self.idle = False

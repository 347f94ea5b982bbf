"""The device end of a flash: its raw REPL through mpremote's SerialTransport, and the small
helpers `hcterm flash` defines there once per session (DEVICE_CODE) to hash, write and
verify files and ROM blocks.

Data goes as mpremote's `romfs deploy` sends it: each chunk deflate-compressed (raw, a
2**WBITS window) and base64 encoded inside one raw-paste command, decompressed on the device
with deflate.DeflateIO.
"""

import base64
import contextlib
import io
import json
import threading
import time
import zlib

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from reader import hostlink

from . import FlashError

WBITS = 10
_STDOUT_LOCK = threading.Lock()
CHUNK = 1024     # bytes a command carries: small, for a device with little heap left
BLOCK = 4096     # bytes a streamed frame carries (a ROM erase block)
STREAM_WBITS = 10
FRAME_MAX = BLOCK + 256   # the device's frame buffer
ACK = b"\x06"
ANSWER_TIMEOUT = 10   # seconds a device in its raw REPL may take to answer a read
# the start of the link server's first frame after a boot (its self-test event): SYNC, the
# version byte (stuffed) and the kind (reader.hostlink)
LINK_EVENT = bytes([hostlink.SYNC, hostlink.ESC, hostlink.VERSION ^ 0x20, hostlink.EVENT])

# Defined once at the raw REPL. R is the ROM partition's rom_ioctl (vfs.rom_ioctl on a
# board; the virtual reader's port has it in simport.py, on the host's disk: see there).
# First a command small enough to compile in what a stopped reader leaves free (its heap
# in pieces): it lets the firmware go, then the helpers compile in the room that gives.
FREE_CODE = """import sys,gc
for _k in list(sys.modules):
 if _k=='reader' or _k.startswith('reader.') or _k.startswith('asyncio'):del sys.modules[_k]
for _k in ('reader','board','m'):globals().pop(_k,None)
gc.collect()
"""
DEVICE_CODE = """
import sys,os,gc
import json,hashlib,binascii,vfs
from io import BytesIO
from deflate import DeflateIO,RAW
R=getattr(vfs,'rom_ioctl',None)
if R is None and hasattr(os,'getenv') and os.getenv('HCTERM_ROM_PARTITION'):
 try:
  vfs.mount(vfs.VfsPosix(),'/host')
 except OSError:
  pass
 sys.path.append('/host'+os.getenv('MICROPYPATH'));from simport import rom_ioctl as R
D=R(2,0) if R and R(1)>0 else None
_B=bytearray(%d)
def _u(b):
 gc.collect();z=DeflateIO(BytesIO(binascii.a2b_base64(b)),RAW,%d);n=0
 while n<len(_B):
  k=z.readinto(memoryview(_B)[n:])
  if not k:break
  n+=k
 return memoryview(_B)[:n]
def _h(d):return binascii.hexlify(hashlib.sha256(d).digest()).decode()
def _hf(p):
 h=hashlib.sha256();b=bytearray(512)
 try:
  with open(p,'rb') as f:
   while 1:
    n=f.readinto(b)
    if not n:break
    h.update(memoryview(b)[:n])
 except OSError:return None
 return binascii.hexlify(h.digest()).decode()
def _rsize():
 if D is None:return 0
 return D.ioctl(4,0)*D.ioctl(5,0) if hasattr(D,'ioctl') else len(D)
_S=bytearray(256)
def _rh(h,o,n):
 if not hasattr(D,'ioctl'):
  h.update(D[o:o+n]);return h
 while n>0:
  k=min(n,256);m=memoryview(_S)[:k];D.readblocks(o//4096,m,o%%4096);h.update(m);o+=k;n-=k
 return h
def _rblocks(n):
 gc.collect()
 print(json.dumps([binascii.hexlify(_rh(hashlib.sha256(),o,4096).digest()[:8]).decode()
  for o in range(0,n,4096)]))
def _rhash(n):
 print(binascii.hexlify(_rh(hashlib.sha256(),0,n).digest()).decode())
def _rerase(b):
 if hasattr(D,'ioctl'):D.ioctl(6,b)
 else:R(3,0,b*4096,4096)
def _rwrite(o,d):
 if hasattr(D,'ioctl'):D.writeblocks(o//4096,d,o%%4096)
 else:R(4,0,o,d)
_F=bytearray(%d)
def _rx(n):
 m=memoryview(_F);k=0
 while k<n:
  r=sys.stdin.buffer.readinto(m[k:n])
  if not r:raise OSError('no data')
  k+=r
 gc.collect();d=bytes(m[:n])
 if b'\\x1b' in d:d=d.replace(b'\\x1b\\x1d',b'\\x03').replace(b'\\x1b\\x1c',b'\\x1b')
 z=DeflateIO(BytesIO(d),RAW,%d);k=0
 while k<len(_B):
  r=z.readinto(memoryview(_B)[k:])
  if not r:break
  k+=r
 return memoryview(_B)[:k]
def _ack():
 sys.stdout.write('\\x06')
def _rom(t):
 for b,o,n in t:
  d=_rx(n)
  if b and not o:_rerase(b)
  _rwrite(b*4096+o,d);_ack()
def _files(t):
 for p,m,n in t:
  _fw(p,m,_rx(n));_ack()
def _fw(p,m,d):
 with open(p,m) as f:f.write(d)
def _mk(p):
 s=''
 for d in p.split('/')[:-1]:
  s+='/'+d
  try:os.mkdir(s)
  except OSError:pass
def _rm(p):
 try:
  if os.stat(p)[0]&0x4000:
   for n in os.listdir(p):_rm(p+'/'+n)
   os.rmdir(p)
  else:os.remove(p)
 except OSError:pass
def _walk(p,out):
 try:
  for e in os.ilistdir(p):
   q=p+'/'+e[0]
   if e[1]&0x4000:_walk(q,out)
   else:out.append(q)
 except OSError:pass
 return out
""" % (BLOCK, WBITS, FRAME_MAX, STREAM_WBITS)


PROBE_CODE = """
try:
 import board as _b;_n=_b.NAME
except Exception:
 _n=None
_m=None
try:
 with open('/flash.json') as f:_m=json.load(f)
except (OSError,ValueError):pass
try:
 os.stat('/flash.incomplete');_inc=True
except OSError:_inc=False
_g=getattr(os,'getenv',None)
print(json.dumps({'name':sys.implementation.name,'version':list(sys.implementation.version),
'mpy':getattr(sys.implementation,'_mpy',0),'platform':sys.platform,'board':_n,
'hw_board':_g('HCTERM_BOARD') if _g else None,'rom_size':_rsize(),
'rom_kind':'block' if hasattr(D,'ioctl') else ('memory' if D else None),
'manifest':_m,'incomplete':_inc,'free':gc.mem_free()}))
"""


# whether / is a flash filesystem (printed after DEVICE_CODE); a MicroPython whose
# vfs.mount() cannot list: assume so
ROOT_CODE = """try:
 _r=[type(m[0]).__name__ for m in vfs.mount() if m[1]=='/']
except TypeError:
 _r=['?']
print(json.dumps(bool(_r) and _r[0]!='VfsPosix'))
"""


# a reset from any state: machine.reset() on a board; on the virtual reader, its port's
RESET_ANY = """import vfs,sys,os,gc
gc.collect()
if hasattr(os,'getenv') and os.getenv('HCTERM_ROM_PARTITION'):
 try:
  vfs.mount(vfs.VfsPosix(),'/host')
 except OSError:
  pass
 sys.path.append('/host'+os.getenv('MICROPYPATH'));from simport import reset
else:
 from machine import reset
reset()
"""


def _pack(data):
    """Deflate (raw) and base64 `data` as the device's _u() undoes it."""
    c = zlib.compressobj(level=9, wbits=-WBITS)
    return base64.b64encode(c.compress(bytes(data)) + c.flush())


class Device:
    """One device's raw REPL. Every method raises FlashError with what to do."""

    def __init__(self, port, baudrate=115200):
        self.port = port
        _check_port(port)
        try:
            self.transport = SerialTransport(port, baudrate=baudrate, exclusive=True, timeout=1)
        except TransportError:
            raise FlashError(f"cannot open {port}",
                             "check the cable and the port name") from None
        self.sent = 0

    def close(self):
        try:
            self.transport.close()
        except Exception:  # noqa: BLE001 - closing a port that went away
            pass

    def enter(self):
        """Stop whatever runs (the reader's link server stops on Ctrl-C), enter the raw
        REPL and define the helpers. A reader the Ctrl-C stopped in the middle of its boot
        is reset and stopped again once it has booted: when it has no room left for the
        helpers, and when it had not mounted its flash filesystem at / yet (what a flash
        writes must land on the reader's flash; on the virtual reader / is then the host's
        own disk, the unix port's VfsPosix)."""
        self._enter_raw()
        for attempt in (1, 2):
            try:
                self.run(FREE_CODE, "let its firmware go")
                # the helpers, then whether / is the reader's flash (one command)
                if self.json(DEVICE_CODE + ROOT_CODE, "set up the flashing helpers"):
                    return
                error = FlashError(f"the reader on {self.port} has no flash filesystem at / "
                                   "after its boot",
                                   "power it off and on and run hcterm flash again; if it "
                                   "repeats, its filesystem is damaged: erase and reinstall "
                                   "MicroPython (docs/flashing.md)")
            except FlashError as failed:
                error = failed
            if attempt == 2:
                raise error
            self._reboot()

    def _enter_raw(self):
        # short reads while looking for a REPL; once in, a device may take its time to
        # answer (mpremote reads the raw-paste handshake and "OK" with one read each: a
        # loaded host or device past the port's timeout would read as no raw REPL)
        self.transport.serial.timeout = 1
        for attempt in range(4):    # a reader still booting may miss the first Ctrl-C
            try:
                # mpremote prints its misses; sys.stdout is one for all threads, so one
                # port at a time swaps it (interleaved swaps would leave it swapped)
                with _STDOUT_LOCK, contextlib.redirect_stdout(io.StringIO()):
                    self.transport.enter_raw_repl(soft_reset=False, timeout_overall=1.5)
                self.transport.serial.timeout = ANSWER_TIMEOUT
                break
            except (TransportError, serial.SerialException, OSError):
                if attempt < 3:
                    continue
                raise FlashError(
                    f"no MicroPython REPL answers on {self.port}",
                    "check that the port is the reader's, that MicroPython is installed on "
                    "it (docs/flashing.md: esptool / picotool) and that nothing else holds "
                    "the port") from None

    def _reboot(self):
        """Reset the device, let it boot, enter the raw REPL again."""
        try:
            self.transport.exec_raw_no_follow(RESET_ANY)
        except (TransportError, serial.SerialException, OSError):
            pass
        self._wait_boot()
        self._enter_raw()

    def _wait_boot(self, timeout=30):
        """After a reset: until the reader printed its self-test line and its link server
        sent its first event (booted and settled: a Ctrl-C then stops the link server, not
        the boot), or timeout."""
        ser = self.transport.serial
        ser.timeout = 1
        want = [b"SELFTEST ", LINK_EVENT]
        seen = b""
        deadline = time.monotonic() + timeout
        while want and time.monotonic() < deadline:
            try:
                seen += ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError):
                time.sleep(0.2)     # a board's USB port comes back after its reset
                continue
            while want and want[0] in seen:
                seen = seen[seen.index(want[0]) + len(want[0]):]
                want.pop(0)
            seen = seen[-16:]

    def run(self, code, what, timeout=30):
        """Execute `code`; its output (bytes). FlashError naming `what` on any failure."""
        self.sent += len(code)
        try:
            out, err = self.transport.exec_raw(code, timeout=timeout)
        except (TransportError, serial.SerialException, OSError) as error:
            raise FlashError(f"the device stopped answering while it should {what} "
                             f"({error})", "check the cable, then run hcterm flash again: it "
                             "continues where it stopped") from None
        if err:
            last = err.decode("utf-8", "replace").strip().splitlines()[-1:]
            if last and "MemoryError" in last[0]:
                raise FlashError(f"the device ran out of memory while it should {what}",
                                 "reset the reader (power it off and on) and run hcterm "
                                 "flash again")
            raise FlashError(f"the device failed to {what}: {last[0] if last else err!r}",
                             "run hcterm flash again; if it fails the same way, report it")
        return out

    def json(self, code, what, timeout=30):
        out = self.run(code, what, timeout)
        try:
            return json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise FlashError(f"the device answered {out[-80:]!r} when asked to {what}",
                             "run hcterm flash again; if it fails the same way, report it") \
                from None

    def probe(self):
        return self.json(PROBE_CODE, "say what it runs")

    def send(self, data, into, what):
        """Put `data` (at most CHUNK bytes) into the device variable `into`."""
        if len(data) > CHUNK:
            raise ValueError(f"{what}: {len(data)} bytes, more than one command carries")
        self.run(f"{into}=bytes(_u({_pack(data)!r}))", what)

    def put(self, data, call, what):
        """Run `call` with "{}" replaced by `data` (compressed, base64; one command)."""
        self.run(call.format(f"_u({_pack(data)!r})"), what)

    def stream(self, call, frames, what, done=None):
        """Run `call` (a device loop over `frames`: _rom or _files) and send each frame as
        raw bytes (deflate, then 0x03 and 0x1B escaped: no Ctrl-C reaches the device), the
        next one when the device acknowledged the last. `done(i)` after each."""
        ser = self.transport.serial
        try:
            self.transport.exec_raw_no_follow(call)
            for i, frame in enumerate(frames):
                ser.write(frame)
                got = ser.read(1)
                if got != ACK:
                    out, err = self.transport.follow(10)
                    last = (err or got + out).decode("utf-8", "replace").strip()
                    last = last.splitlines()[-1] if last else "no answer"
                    raise FlashError(f"the device failed to {what}: {last}",
                                     "run hcterm flash again; if it fails the same way, "
                                     "report it")
                if done:
                    done(i)
            out, err = self.transport.follow(10)
        except (TransportError, serial.SerialException, OSError) as error:
            raise FlashError(f"the device stopped answering while it should {what} "
                             f"({error})", "check the cable, then run hcterm flash again: it "
                             "continues where it stopped") from None
        if err:
            raise FlashError(f"the device failed to {what}: {err.decode(errors='replace')}",
                             "run hcterm flash again; if it fails the same way, report it")

    def reset(self, code):
        """Run the reset call `code`; the device goes away and comes back."""
        try:
            self.transport.exec_raw_no_follow(code)
        except (TransportError, serial.SerialException, OSError):
            pass
        self.close()


def frame(data):
    """One streamed frame of `data` (<= BLOCK bytes): deflate (raw, 2**STREAM_WBITS
    window), escaped as the device's _rx() undoes it."""
    c = zlib.compressobj(level=9, wbits=-STREAM_WBITS)
    packed = c.compress(bytes(data)) + c.flush()
    return packed.replace(b"\x1b", b"\x1b\x1c").replace(b"\x03", b"\x1b\x1d")


def frames(data, offset=0):
    """[(offset, frame)] of `data` (<= BLOCK bytes), split where a frame would not fit the
    device's buffer (data full of the escaped bytes)."""
    made = frame(data)
    if len(made) <= FRAME_MAX:
        return [(offset, made)]
    half = len(data) // 2
    return frames(data[:half], offset) + frames(data[half:], offset + half)


def _check_port(port):
    """FlashError for a missing port or one another program holds exclusively."""
    if "://" in port:
        return
    try:
        ser = serial.Serial(port, 115200, exclusive=True, timeout=0.1)
    except serial.SerialException as error:
        text = str(error)
        if "exclusively lock" in text or "Resource temporarily unavailable" in text:
            raise FlashError(f"port busy: another program has {port} open",
                             "close it (hcterm bridge, mpremote, a serial terminal, another "
                             "hcterm flash) and run again") from None
        raise FlashError(f"cannot open {port} ({error})",
                         "check the cable and the port name (ls /dev/ttyACM* /dev/ttyUSB*)") \
            from None
    ser.close()

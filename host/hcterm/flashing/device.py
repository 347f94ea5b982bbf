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
import zlib

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from . import FlashError

WBITS = 10
CHUNK = 2048     # bytes a command carries: small, for a device with little heap left

# Defined once at the raw REPL. R is the ROM partition's rom_ioctl (vfs.rom_ioctl on a
# board; the virtual reader's port has it in simport.py, on the host's disk: see there).
DEVICE_CODE = """
import sys,os,gc,json,hashlib,binascii,vfs
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
""" % (CHUNK, WBITS)


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
        """Stop whatever runs (the reader's link server stops on Ctrl-C) and enter the raw
        REPL; define the helpers."""
        for attempt in range(8):    # a reader still booting may miss the first Ctrl-C
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints its misses
                    self.transport.enter_raw_repl(soft_reset=False, timeout_overall=1.5)
                break
            except (TransportError, serial.SerialException, OSError):
                if attempt < 7:
                    continue
                raise FlashError(
                    f"no MicroPython REPL answers on {self.port}",
                    "check that the port is the reader's, that MicroPython is installed on "
                    "it (docs/flashing.md: esptool / picotool) and that nothing else holds "
                    "the port") from None
        self.run(DEVICE_CODE, "set up the flashing helpers")

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
        """Put `data` into the device variable `into` (compressed, base64)."""
        self.run(f"{into}=_u({_pack(data)!r})", what)

    def reset(self, code):
        """Run the reset call `code`; the device goes away and comes back."""
        try:
            self.transport.exec_raw_no_follow(code)
        except (TransportError, serial.SerialException, OSError):
            pass
        self.close()


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

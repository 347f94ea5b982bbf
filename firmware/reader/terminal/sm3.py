"""SM3, the hash of GB/T 32905-2016 (GM/T 0004-2012), in plain Python for MicroPython and
CPython: `SM3().update(data)...digest()` and `sm3(data)`, 32 bytes.

Transient (reader.TRANSIENT): imported to check a signed file (reader.terminal.sm2) and let
go after it. The state is preallocated per hasher: the eight chaining words, a 64-byte block
buffer and the 68-word message expansion (W'[j] = W[j] ^ W[j+4] is taken on the fly); a
whole block of `data` is compressed in place, from a memoryview, without a copy. On a port
whose small ints are 31 bits (ESP32, RP2040) a 32-bit word above 2**30 is a long int, so the
rounds allocate there; on the 64-bit unix port they do not.
"""

import struct

from micropython import const

_MASK = const(0xFFFFFFFF)
_T0 = const(0x79CC4519)         # T_j, rounds 0..15
_T16 = const(0x9D8A7A87)        # T_j = 0x7A879D8A rounds 16..63, rotated left by 16 (j = 16)


class SM3:
    """Incremental SM3: `update(data)` any number of times, then `digest()` (which leaves
    the state as it was, so more data may follow)."""

    def __init__(self, data=None):
        # the chaining value V, IV of GB/T 32905 section 4.1
        self._v = [0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600,
                   0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E]
        self._w = [0] * 68
        self._buf = bytearray(64)
        self._fill = 0          # bytes waiting in _buf
        self._length = 0        # bytes hashed so far
        if data is not None:
            self.update(data)

    def update(self, data):
        """Hash `data` (bytes, bytearray or memoryview) after what came before."""
        mv = memoryview(data)
        size = len(mv)
        self._length += size
        at = 0
        fill = self._fill
        buf = self._buf
        if fill:
            take = 64 - fill
            if take > size:
                take = size
            buf[fill:fill + take] = mv[:take]
            fill += take
            at = take
            if fill < 64:
                self._fill = fill
                return self
            self._compress(self._v, buf, 0)
        while size - at >= 64:
            self._compress(self._v, mv, at)
            at += 64
        fill = size - at
        if fill:
            buf[:fill] = mv[at:]
        self._fill = fill
        return self

    def digest(self):
        """The 32-byte hash of all the data given so far."""
        v = list(self._v)
        fill = self._fill
        # padding: 0x80, zeros to 56 mod 64, the length in bits as 64 bits big endian
        tail = bytearray(64 if fill < 56 else 128)
        tail[:fill] = self._buf[:fill]
        tail[fill] = 0x80
        struct.pack_into(">Q", tail, len(tail) - 8, self._length * 8)
        self._compress(v, tail, 0)
        if len(tail) == 128:
            self._compress(v, tail, 64)
        return struct.pack(">8I", *v)

    def hexdigest(self):
        from binascii import hexlify

        return hexlify(self.digest()).decode()

    def _compress(self, v, block, at):
        """The compression function CF: chaining value `v` (updated in place) with the
        64-byte block at `block[at:]`."""
        w = self._w
        words = struct.unpack_from(">16I", block, at)
        for j in range(16):
            w[j] = words[j]
        for j in range(16, 68):
            x = w[j - 16] ^ w[j - 9]
            y = w[j - 3]
            x ^= ((y << 15) | (y >> 17)) & _MASK
            # P1(x) = x ^ (x <<< 15) ^ (x <<< 23)
            x = x ^ (((x << 15) | (x >> 17)) & _MASK) ^ (((x << 23) | (x >> 9)) & _MASK)
            y = w[j - 13]
            w[j] = x ^ (((y << 7) | (y >> 25)) & _MASK) ^ w[j - 6]
        a, b, c, d, e, f, g, h = v
        t = _T0
        for j in range(64):
            a12 = ((a << 12) | (a >> 20)) & _MASK
            ss1 = (a12 + e + t) & _MASK
            ss1 = ((ss1 << 7) | (ss1 >> 25)) & _MASK
            ss2 = ss1 ^ a12
            if j < 16:
                ff = a ^ b ^ c
                gg = e ^ f ^ g
            else:
                ff = (a & b) | (c & (a | b))
                gg = g ^ (e & (f ^ g))
            wj = w[j]
            tt1 = (ff + d + ss2 + (wj ^ w[j + 4])) & _MASK
            tt2 = (gg + h + ss1 + wj) & _MASK
            d = c
            c = ((b << 9) | (b >> 23)) & _MASK
            b = a
            a = tt1
            h = g
            g = ((f << 19) | (f >> 13)) & _MASK
            f = e
            # P0(tt2) = tt2 ^ (tt2 <<< 9) ^ (tt2 <<< 17)
            e = tt2 ^ (((tt2 << 9) | (tt2 >> 23)) & _MASK) ^ (((tt2 << 17) | (tt2 >> 15)) & _MASK)
            # T_j <<< (j mod 32) for the next round
            t = _T16 if j == 15 else ((t << 1) | (t >> 31)) & _MASK
        v[0] ^= a
        v[1] ^= b
        v[2] ^= c
        v[3] ^= d
        v[4] ^= e
        v[5] ^= f
        v[6] ^= g
        v[7] ^= h


def sm3(data):
    """The 32-byte SM3 hash of `data`."""
    return SM3(data).digest()

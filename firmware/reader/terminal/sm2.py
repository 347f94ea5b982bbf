"""SM2 signature verification (GB/T 32918.2-2016) with SM3 and the user ID's hash ZA, for
the files the card management platform signs (docs/platform-signature.md).

`verify(public_key, message, signature, uid=b"1234567812345678")` -> bool. public_key: 64
bytes x||y (or 65 bytes 04||x||y), signature: 64 bytes r||s, all big endian. A malformed
length is a ValueError; a bad signature, a key off the curve or r, s out of range is False.
For a message too big for RAM (a file read in chunks): `za(public_key, uid)` starts the
hash, `SM3(za).update(chunk)...` continues it, `verify_digest(public_key, e, signature)`
checks the 32-byte e = SM3(ZA || M).

The curve is the recommended 256-bit one (GB/T 32918.5), a = p - 3. [s]G + [t]PA is one
double-and-add pass over both scalars (Shamir's trick) in Jacobian coordinates, adding the
affine G, PA or G + PA (one inversion, extended Euclid: faster than pow(x, p - 2, p) here);
the final x is compared as X == x1 * Z^2 without a second inversion.

Transient (reader.TRANSIENT): imported to check a signed file and let go after it; it
imports reader.terminal.sm3, transient too. The curve's numbers are const()s: MicroPython
compiles them into the code, the module has no globals for them.
"""

from micropython import const

from reader.terminal.sm3 import SM3

_P = const(0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF)
_A = const(0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC)     # p - 3
_B = const(0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93)
_N = const(0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123)
_GX = const(0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7)
_GY = const(0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0)


def _xy(public_key):
    """The 64 bytes x||y of a 64-byte x||y or 65-byte 04||x||y key; ValueError otherwise."""
    size = len(public_key)
    if size == 65 and public_key[0] == 4:
        return memoryview(public_key)[1:]
    if size != 64:
        raise ValueError("SM2 public key has %d bytes, expected 64 (x||y) or 65 (04||x||y)"
                         % size)
    return public_key


def public_point(public_key):
    """(x, y) of a 64-byte x||y or 65-byte 04||x||y key; ValueError for another length or
    prefix; None if the point is not on the curve."""
    public_key = _xy(public_key)
    x = int.from_bytes(public_key[:32], "big")
    y = int.from_bytes(public_key[32:64], "big")
    if x >= _P or y >= _P or (y * y - (x * x * x - 3 * x + _B)) % _P:
        return None
    return x, y


def za(public_key, uid=b"1234567812345678"):
    """ZA = SM3(ENTL || ID || a || b || xG || yG || xA || yA), 32 bytes (GB/T 32918.2
    section 5.5); ENTL is the ID's length in bits, two bytes big endian."""
    bits = len(uid) * 8
    if bits > 0xFFFF:
        raise ValueError("SM2 user ID has %d bytes, at most 8191" % len(uid))
    public_key = _xy(public_key)
    h = SM3(bytes((bits >> 8, bits & 0xFF)))
    h.update(uid)
    for number in (_A, _B, _GX, _GY):
        h.update(number.to_bytes(32, "big"))
    h.update(public_key)
    return h.digest()


def verify(public_key, message, signature, uid=b"1234567812345678"):
    """True if `signature` (r||s) is the SM2 signature of `message` by `public_key` with
    user ID `uid`."""
    h = SM3(za(public_key, uid))
    h.update(message)
    return verify_digest(public_key, h.digest(), signature)


def verify_digest(public_key, digest, signature):
    """True if `signature` (r||s, 64 bytes) verifies for e = `digest` (32 bytes, SM3(ZA ||
    M)) under `public_key` (GB/T 32918.2 section 7)."""
    if len(signature) != 64:
        raise ValueError("SM2 signature has %d bytes, expected 64 (r||s)" % len(signature))
    if len(digest) != 32:
        raise ValueError("SM3 digest has %d bytes, expected 32" % len(digest))
    point = public_point(public_key)
    if point is None:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not 0 < r < _N or not 0 < s < _N:
        return False
    t = (r + s) % _N
    if t == 0:
        return False
    x, _, z = _mul2(s, t, point[0], point[1])
    if z == 0:
        return False
    # R = (e + x1) mod n == r, with x1 = x / z^2 mod p: x1 is (r - e) mod n, or that plus n
    # while below p
    zz = z * z % _P
    x1 = (r - int.from_bytes(digest, "big")) % _N
    while x1 < _P:
        if (x1 * zz - x) % _P == 0:
            return True
        x1 += _N
    return False


def _mul2(s, t, x2, y2):
    """[s]G + [t](x2, y2) in Jacobian coordinates (X, Y, Z); Z == 0 is the infinity."""
    # G + Q, made affine: the point added where both scalars have a 1 bit
    both = _add(x2, y2, 1, _GX, _GY)
    if both[2]:
        zi = _inverse(both[2])
        zi2 = zi * zi % _P
        both = (both[0] * zi2 % _P, both[1] * zi2 * zi % _P)
    else:
        both = None     # Q = -G: G + Q is the infinity, nothing to add
    sb = s.to_bytes(32, "big")
    tb = t.to_bytes(32, "big")
    x = y = 0
    z = 0
    for i in range(32):
        si = sb[i]
        ti = tb[i]
        mask = 0x80
        while mask:
            if z:
                x, y, z = _double(x, y, z)
            if si & mask:
                if ti & mask:
                    if both is not None:
                        x, y, z = _add(x, y, z, both[0], both[1])
                else:
                    x, y, z = _add(x, y, z, _GX, _GY)
            elif ti & mask:
                x, y, z = _add(x, y, z, x2, y2)
            mask >>= 1
    return x, y, z


def _double(x, y, z):
    """2(x, y, z), Jacobian, a = -3."""
    delta = z * z % _P
    gamma = y * y % _P
    beta = x * gamma % _P
    alpha = 3 * (x - delta) * (x + delta) % _P
    x3 = (alpha * alpha - 8 * beta) % _P
    z3 = 2 * y * z % _P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % _P
    return x3, y3, z3


def _add(x1, y1, z1, x2, y2):
    """(x1, y1, z1) + (x2, y2): Jacobian plus affine."""
    if z1 == 0:
        return x2, y2, 1
    zz = z1 * z1 % _P
    h = (x2 * zz - x1) % _P
    r = (y2 * zz * z1 - y1) % _P
    if h == 0:
        if r == 0:
            return _double(x1, y1, z1)
        return 0, 0, 0         # P + (-P)
    hh = h * h % _P
    hhh = h * hh % _P
    v = x1 * hh % _P
    x3 = (r * r - hhh - 2 * v) % _P
    y3 = (r * (v - x3) - y1 * hhh) % _P
    return x3, y3, z1 * h % _P


def _inverse(a):
    """1 / a mod p (a not 0 mod p), extended Euclid."""
    b = _P
    u = 1
    v = 0
    while b:
        q = a // b
        a, b = b, a - q * b
        u, v = v, u - q * v
    return u % _P

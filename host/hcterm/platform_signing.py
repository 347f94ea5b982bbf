"""The card management platform's side of signed files: SM2 keys, signing and verification
with SM3 and ZA over the default user ID "1234567812345678" (docs/platform-signature.md).

Done with the PyPI package gmssl, on purpose not with the firmware's reader.terminal.sm2 /
sm3: the two implementations are independent, so each one's tests check the other. Around
gmssl 3.2.2 this module:

- draws the private key and each signature's nonce k with `secrets` (gmssl's own random_hex
  uses `random.choice`, which is not a cryptographic generator);
- sets the public key on its CryptSM2 object after construction (its constructor strips a
  leading "04" with `str.lstrip("04")`, which also eats the key's own leading 0 and 4 digits);
- checks r and s in [1, n-1] and the key on the curve before its verify, which checks neither.

Encodings: private key 64 hex digits (d, big endian, 1 <= d <= n-2); public key 64 bytes
x||y (128 hex digits; 65 bytes / 130 digits with the 04 prefix are accepted on input);
signature 64 bytes r||s. Key files hold the hex on one line; a private key file is mode 0600.
"""

import os
import secrets
import stat
from pathlib import Path

from gmssl import sm2 as _gm

_TABLE = _gm.default_ecc_table
P = int(_TABLE["p"], 16)
N = int(_TABLE["n"], 16)
_A = int(_TABLE["a"], 16)
_B = int(_TABLE["b"], 16)
DEFAULT_UID = b"1234567812345678"


class KeyFileError(ValueError):
    """A key file or key text that cannot be used; the message says what to do."""


def generate_key():
    """(private_key_hex, public_key_bytes64): a new key pair, d drawn with `secrets`."""
    private = "%064x" % (secrets.randbelow(N - 2) + 1)
    return private, public_key(private)


def public_key(private_key_hex):
    """The 64-byte public key x||y of a private key (64 hex digits)."""
    d = _private_int(private_key_hex)
    point = _gm.CryptSM2(private_key="%064x" % d, public_key="")._kg(d, _TABLE["g"])
    return bytes.fromhex(point)


def sign(private_key_hex, message):
    """The 64-byte SM2 signature r||s of `message` (bytes): e = SM3(ZA || message), ZA with
    the default user ID and this key's public key; the nonce k from `secrets`."""
    private = "%064x" % _private_int(private_key_hex)
    signer = _signer(private, public_key(private))
    message = bytes(message)
    while True:
        k = secrets.randbelow(N - 1) + 1
        signature = signer.sign_with_sm3(message, "%064x" % k)
        if signature is not None:      # None: r = 0, r + k = n or s = 0, another k
            return bytes.fromhex(signature)


def verify(public64, message, sig64):
    """True if `sig64` (r||s) is the SM2 signature of `message` by `public64` (x||y, or
    04||x||y) with the default user ID. ValueError for a malformed length, as the firmware's
    reader.terminal.sm2.verify."""
    public64 = _public_bytes(public64)
    sig64 = bytes(sig64)
    if len(sig64) != 64:
        raise ValueError(f"SM2 signature has {len(sig64)} bytes, expected 64 (r||s)")
    r = int.from_bytes(sig64[:32], "big")
    s = int.from_bytes(sig64[32:], "big")
    if not (0 < r < N and 0 < s < N) or not on_curve(public64):
        return False
    try:
        return bool(_signer(None, public64).verify_with_sm3(sig64.hex(), bytes(message)))
    except (TypeError, ValueError):     # a point at infinity on the way: not a signature
        return False


def on_curve(public64):
    """True if the 64-byte x||y is a point of the curve (coordinates below p)."""
    x = int.from_bytes(public64[:32], "big")
    y = int.from_bytes(public64[32:64], "big")
    return x < P and y < P and (y * y - x * x * x - _A * x - _B) % P == 0


# ---- key files ---------------------------------------------------------------------------

def save_private_key(path, private_key_hex, overwrite=False):
    """Write the private key (64 hex digits and a newline) to `path`, mode 0600 from the
    start. An existing file is kept (KeyFileError) unless `overwrite`: a signing key lost is
    a reader fleet that must be given a new public key."""
    d = _private_int(private_key_hex)
    path = Path(path)
    text = "%064x\n" % d
    if not overwrite:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyFileError(f"{path} exists: the key in it would be lost; move it away "
                               "first or give another file") from None
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_private_key(path):
    """The private key (64 lowercase hex digits) in `path`. KeyFileError when the file is
    missing or unreadable, open to other users, or does not hold a private key."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise KeyFileError(f"no private key file {path}: give the file the key was saved "
                           "to, or make a key pair first") from None
    except OSError as error:
        raise KeyFileError(f"cannot read the private key file {path}: {error.strerror}")\
            from None
    with os.fdopen(fd, "rb") as f:
        mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
        if mode & 0o077:
            raise KeyFileError(f"the private key file {path} is open to others (mode "
                               f"{mode:04o}): if nobody else read it, 'chmod 600 {path}'; "
                               "otherwise make a new key pair and give the readers its "
                               "public key")
        data = f.read(4096)
    text = _text(data, path, "private key")
    try:
        return "%064x" % _private_int(text)
    except ValueError as error:
        if len(text) in (128, 130) and _is_hex(text):
            raise KeyFileError(f"{path} holds a public key, not a private one: give the "
                               "private key file") from None
        raise KeyFileError(f"{path}: {error}") from None


def load_public_key(path_or_hex):
    """The 64-byte public key x||y from 128 hex digits (130 with the 04 prefix), or from a
    file holding them. KeyFileError when it is neither, or not a point of the curve."""
    if isinstance(path_or_hex, (bytes, bytearray, memoryview)) and len(path_or_hex) in (64, 65):
        key, where = bytes(path_or_hex), "the public key"
    else:
        text = str(path_or_hex).strip()
        if _is_hex(text) and len(text) in (128, 130):
            key, where = bytes.fromhex(text), "the public key given"
        else:
            path = Path(path_or_hex)
            try:
                data = path.read_bytes()[:4096]
            except FileNotFoundError:
                hint = (" (as hex it would need 128 digits, x then y, or 130 starting 04; "
                        f"it has {len(text)})" if _is_hex(text) else "")
                raise KeyFileError(f"{text!r} is neither a public key nor a file{hint}: give "
                                   "the 128 hex digits of x||y or the file holding them")\
                    from None
            except OSError as error:
                raise KeyFileError(f"cannot read the public key file {path}: "
                                   f"{error.strerror}") from None
            text = _text(data, path, "public key")
            where = str(path)
            if len(text) == 64 and _is_hex(text):
                raise KeyFileError(f"{path} holds a private key (64 hex digits), not a public "
                                   "one: never hand it out; give the public key (128 hex "
                                   "digits, x||y)")
            if not (_is_hex(text) and len(text) in (128, 130)):
                raise KeyFileError(f"{path} does not hold a public key: expected 128 hex "
                                   f"digits (x||y) or 130 starting 04, found {len(text)} "
                                   "characters")
            key = bytes.fromhex(text)
    try:
        key = _public_bytes(key)
    except ValueError as error:
        raise KeyFileError(f"{where}: {error}") from None
    if not on_curve(key):
        raise KeyFileError(f"{where} is not a point of the SM2 curve: it is damaged or not "
                           "an SM2 public key; get the platform's public key again")
    return key


# ---- helpers -----------------------------------------------------------------------------

def _signer(private_key_hex, public64):
    signer = _gm.CryptSM2(private_key=private_key_hex, public_key="")
    signer.public_key = public64.hex()      # not through the constructor's lstrip("04")
    return signer


def _private_int(private_key_hex):
    text = str(private_key_hex).strip()
    if len(text) != 64 or not _is_hex(text):
        raise ValueError(f"an SM2 private key is 64 hex digits, this has {len(text)} "
                         "characters" + ("" if _is_hex(text) else " and not only hex digits"))
    d = int(text, 16)
    if not 1 <= d <= N - 2:
        raise ValueError("an SM2 private key is a number from 1 to n-2; this one is not")
    return d


def _public_bytes(key):
    key = bytes(key)
    if len(key) == 65 and key[0] == 4:
        key = key[1:]
    if len(key) != 64:
        raise ValueError(f"SM2 public key has {len(key)} bytes, expected 64 (x||y) or 65 "
                         "(04||x||y)")
    return key


def _is_hex(text):
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)


def _text(data, path, what):
    try:
        return data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise KeyFileError(f"{path} is not a {what} file: expected hex digits on one line")\
            from None

"""The SM4 scheme the emulated health card and SAM share (docs/card-crypto.md).

Every function is pure: bytes in, bytes out. SM4 comes from `cryptography` (ECB and CBC
without padding: the scheme pads itself, 80 00..).

    D(K, d)         = SM4_K(d || NOT d)                    one diversification step, d: 8 bytes
    card key        = D(MK, cardNo8)                       one-level keys (P1 2x)
                    = D(D(MK, city8), cardNo8)             two-level keys (P1 4x)
    session key SK  = D(card key, R)                       R: the card's 8-byte challenge
    cryptogram X    = C[0:8] XOR C[8:16], C = SM4_SK(data8 || 00*8)
    ENC             = SM4-ECB_SK(L || tag || len || value || 80 00..)  (pad only if needed)
    MAC             = first 4 bytes of SM4-CBC-MAC_SK(IV=0, header || ENC || 80 00..)
"""

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16


def _cipher(key, mode):
    if len(key) != BLOCK:
        raise ValueError(f"SM4 key must be 16 bytes, got {len(key)}")
    return Cipher(algorithms.SM4(bytes(key)), mode)


def sm4_encrypt_block(key, block):
    """SM4 encryption of one 16-byte block."""
    if len(block) != BLOCK:
        raise ValueError(f"SM4 block must be 16 bytes, got {len(block)}")
    return encrypt_ecb(key, block)


def sm4_decrypt_block(key, block):
    """SM4 decryption of one 16-byte block."""
    if len(block) != BLOCK:
        raise ValueError(f"SM4 block must be 16 bytes, got {len(block)}")
    return decrypt_ecb(key, block)


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def diversify(key, data8):
    """One diversification step: SM4_key(data8 || NOT data8)."""
    if len(data8) != 8:
        raise ValueError(f"diversification data must be 8 bytes, got {len(data8)}")
    return sm4_encrypt_block(key, bytes(data8) + bytes(b ^ 0xFF for b in data8))


def card_key(master_key, card_no8, city8=None):
    """The per-card key: city8 first (two-level keys), then cardNo8."""
    key = master_key
    if city8 is not None:
        key = diversify(key, city8)
    return diversify(key, card_no8)


def session_key(card_key_, random8):
    """The session key of one challenge."""
    return diversify(card_key_, random8)


def fold(block16):
    """The 8-byte cryptogram X = C[0:8] XOR C[8:16]."""
    return xor(block16[:8], block16[8:16])


def cryptogram(session, data8):
    """X that the terminal sends in EXTERNAL AUTHENTICATE for 8 bytes of terminal data."""
    return fold(sm4_encrypt_block(session, bytes(data8) + bytes(8)))


def pad80(data):
    """Append 80 then 00s up to a multiple of 16 (always adds at least the 80)."""
    data = bytes(data) + b"\x80"
    return data + bytes(-len(data) % BLOCK)


def pad80_if_needed(data):
    """PBOC-style encryption padding: 80 00.. only when not already a multiple of 16."""
    return bytes(data) if len(data) % BLOCK == 0 else pad80(data)


def _ecb(key, data, encrypt):
    if len(data) % BLOCK:
        raise ValueError(f"ECB data must be a multiple of 16 bytes, got {len(data)}")
    cipher = _cipher(key, modes.ECB())
    work = cipher.encryptor() if encrypt else cipher.decryptor()
    return work.update(bytes(data)) + work.finalize()


def encrypt_ecb(key, data):
    return _ecb(key, data, True)


def decrypt_ecb(key, data):
    return _ecb(key, data, False)


def cbc_mac(key, iv, data):
    """SM4 CBC-MAC (16 bytes) of already padded data with a 16-byte IV."""
    if len(iv) != BLOCK or len(data) % BLOCK or not data:
        raise ValueError("CBC-MAC needs a 16-byte IV and a non-empty multiple of 16 bytes")
    work = _cipher(key, modes.CBC(bytes(iv))).encryptor()
    return (work.update(bytes(data)) + work.finalize())[-BLOCK:]


def record_plaintext(record):
    """L || record || 80 00.. as the SAM encrypts it (record = tag len value)."""
    return pad80_if_needed(bytes((len(record),)) + bytes(record))


def secure_write_lc(value_length):
    """Lc' of 04DC for a value of `value_length` bytes: 16*ceil((n+3)/16) + 4."""
    return BLOCK * (-(-(value_length + 3) // BLOCK)) + 4


def write_mac(session, header, enc):
    """The 4-byte MAC of a secure write: CBC-MAC over header || ENC || 80 00.., IV 0."""
    return cbc_mac(session, bytes(BLOCK), pad80(bytes(header) + bytes(enc)))[:4]


def secure_write_apdu(session, record_no, record):
    """04DC rr 04 Lc' | ENC | MAC for `record` (tag len value) — what the terminal sends."""
    enc = encrypt_ecb(session, record_plaintext(record))
    header = bytes((0x04, 0xDC, record_no, 0x04, len(enc) + 4))
    return header + enc + write_mac(session, header, enc)


def open_secure_record(session, enc):
    """Decrypt ENC and return the record (tag len value); ValueError when L or padding is bad."""
    plain = decrypt_ecb(session, enc)
    n = plain[0]
    if n + 1 > len(plain):
        raise ValueError(f"length byte {n} exceeds the {len(plain) - 1} decrypted bytes")
    rest = plain[n + 1 :]
    if rest and (rest[0] != 0x80 or any(rest[1:])):
        raise ValueError("padding after the record is not 80 00..")
    if len(rest) >= BLOCK:
        raise ValueError("more than one block of padding")
    return plain[1 : n + 1]


def command_mac(session, header):
    """MAC of a data-less command (841E/8416/8418 … 04): CBC-MAC of header || 80 00.., IV 0."""
    return cbc_mac(session, bytes(BLOCK), pad80(header))[:4]

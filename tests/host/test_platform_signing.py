"""The platform's SM2 signing (hcterm.platform_signing, gmssl) against the firmware's verify
(reader.terminal.sm2 / sm3, imported on CPython), each checking the other; SM3 and ZA against
cryptography's SM3; key files; the test vector of docs/platform-signature.md."""

import os
import random
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from hcterm import platform_signing as ps
from reader.terminal import sm2, sm3

DOC = Path(__file__).parents[2] / "docs" / "platform-signature.md"
CURVE = bytes.fromhex(  # a, b, xG, yG (GB/T 32918.5), typed from the standard for ZA
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")


def crypto_sm3(data):
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def crypto_za(public64, uid=b"1234567812345678"):
    return crypto_sm3((len(uid) * 8).to_bytes(2, "big") + uid + CURVE + public64)


def flip(data, bit):
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


@pytest.fixture(scope="module")
def keys():
    return [ps.generate_key() for _ in range(4)]


def test_firmware_sm3_equals_cryptography_sm3():
    rng = random.Random(32905)
    for size in [0, 1, 55, 56, 57, 63, 64, 65, 127, 128, 129, 1000, 4096]:
        data = rng.randbytes(size)
        assert sm3.sm3(data) == crypto_sm3(data), size
        hasher = sm3.SM3()
        for at in range(0, size, 37):
            hasher.update(data[at:at + 37])
        assert hasher.digest() == crypto_sm3(data), size


def test_za_is_the_standard_one_on_both_sides(keys):
    for _, public in keys:
        assert sm2.za(public) == crypto_za(public)
        assert sm2.za(public, b"ALICE123@YAHOO.COM") == crypto_za(public, b"ALICE123@YAHOO.COM")
        # gmssl's e = SM3(ZA || M) for sign_with_sm3 is the standard's
        signer = ps._signer(None, public)
        assert bytes.fromhex(signer._sm3_z(b"msg")) == crypto_sm3(crypto_za(public) + b"msg")


def test_gmssl_signatures_verify_in_the_firmware(keys):
    rng = random.Random(32918)
    for private, public in keys:
        assert ps.public_key(private) == public and len(public) == 64
        for size in (0, 1, 64, 300):
            message = rng.randbytes(size)
            signature = ps.sign(private, message)
            assert len(signature) == 64
            assert sm2.verify(public, message, signature)
            assert sm2.verify(b"\x04" + public, message, signature)
            assert ps.verify(public, message, signature)


def test_bit_flips_fail_on_both_sides(keys):
    private, public = keys[0]
    other = keys[1][1]
    message = b"blacklist version 9, 4 IDs"
    signature = ps.sign(private, message)
    for bit in (0, 7, 100, len(message) * 8 - 1):
        assert not sm2.verify(public, flip(message, bit), signature)
        assert not ps.verify(public, flip(message, bit), signature)
    for bit in (0, 255, 256, 300, 511):
        assert not sm2.verify(public, message, flip(signature, bit))
        assert not ps.verify(public, message, flip(signature, bit))
    assert not sm2.verify(other, message, signature)
    assert not ps.verify(other, message, signature)
    assert not sm2.verify(public, message, signature, b"another user ID")


def test_signatures_made_independently_with_another_uid_verify(keys):
    # e from cryptography's SM3, signed by gmssl's bare sign(): the firmware's ZA over the ID
    private, public = keys[2]
    uid = b"ALICE123@YAHOO.COM"
    message = b"signed with another ID"
    e = crypto_sm3(crypto_za(public, uid) + message)
    signature = None
    while signature is None:
        signature = ps._signer(private, public).sign(e, "%064x" % random.randrange(1, ps.N))
    assert sm2.verify(public, message, bytes.fromhex(signature), uid)
    assert not sm2.verify(public, message, bytes.fromhex(signature))


def test_out_of_range_and_off_curve_fail_on_both_sides(keys):
    private, public = keys[3]
    message = b"m"
    signature = ps.sign(private, message)
    r, s = signature[:32], signature[32:]
    n = ps.N.to_bytes(32, "big")
    for bad in (bytes(32) + s, r + bytes(32), n + s, r + n,
                r + (ps.N - int.from_bytes(r, "big")).to_bytes(32, "big")):
        assert not sm2.verify(public, message, bad)
        assert not ps.verify(public, message, bad)
    off = flip(public, 511)
    assert not ps.on_curve(off)
    assert not sm2.verify(off, message, signature)
    assert not ps.verify(off, message, signature)
    for function in (sm2.verify, ps.verify):
        with pytest.raises(ValueError):
            function(public[:63], message, signature)
        with pytest.raises(ValueError):
            function(public, message, signature[:63])


def test_firmware_verify_and_sm3_on_cpython_are_quick(keys):
    import time

    private, public = keys[0]
    signature = ps.sign(private, b"x")
    start = time.perf_counter()
    for _ in range(5):
        assert sm2.verify(public, b"x", signature)
    assert (time.perf_counter() - start) / 5 < 0.1


# ---- key files ---------------------------------------------------------------------------

def test_private_key_file_is_mode_0600_and_round_trips(tmp_path, keys):
    private, public = keys[0]
    path = ps.save_private_key(tmp_path / "platform.key", private)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ps.load_private_key(path) == private
    assert ps.public_key(ps.load_private_key(path)) == public
    with pytest.raises(ps.KeyFileError, match="exists"):
        ps.save_private_key(path, keys[1][0])
    assert ps.load_private_key(path) == private
    ps.save_private_key(path, keys[1][0], overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ps.load_private_key(path) == keys[1][0]
    assert [p.name for p in tmp_path.iterdir()] == ["platform.key"]


def test_private_key_file_open_to_others_is_refused(tmp_path, keys):
    path = ps.save_private_key(tmp_path / "k", keys[0][0])
    os.chmod(path, 0o644)
    with pytest.raises(ps.KeyFileError, match=r"open to others \(mode 0644\).*chmod 600"):
        ps.load_private_key(path)


@pytest.mark.parametrize("content, message", [
    (b"", "64 hex digits, this has 0"),
    (b"xyz\n", "not only hex digits"),
    (b"00" * 32 + b"\n", "from 1 to n-2"),
    (b"\xff\xfe", "not a private key file"),
])
def test_bad_private_key_files_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(ps.KeyFileError, match=message):
        ps.load_private_key(path)


def test_missing_and_swapped_key_files(tmp_path, keys):
    private, public = keys[0]
    with pytest.raises(ps.KeyFileError, match="no private key file"):
        ps.load_private_key(tmp_path / "none.key")
    pub_file = tmp_path / "platform.pub"
    pub_file.write_text(public.hex() + "\n")
    os.chmod(pub_file, 0o600)
    with pytest.raises(ps.KeyFileError, match="holds a public key, not a private one"):
        ps.load_private_key(pub_file)
    key_file = ps.save_private_key(tmp_path / "platform.key", private)
    with pytest.raises(ps.KeyFileError, match="holds a private key.*never hand it out"):
        ps.load_public_key(key_file)


def test_load_public_key_from_hex_or_file(tmp_path, keys):
    public = keys[0][1]
    assert ps.load_public_key(public.hex()) == public
    assert ps.load_public_key("04" + public.hex().upper()) == public
    assert ps.load_public_key(public) == public
    path = tmp_path / "platform.pub"
    path.write_text("  " + public.hex() + "\n")
    assert ps.load_public_key(path) == public
    assert ps.load_public_key(str(path)) == public


def test_bad_public_keys_say_what_is_wrong(tmp_path, keys):
    public = keys[0][1]
    with pytest.raises(ps.KeyFileError, match="neither a public key nor a file.*it has 126"):
        ps.load_public_key(public.hex()[:-2])
    with pytest.raises(ps.KeyFileError, match="not a point of the SM2 curve"):
        ps.load_public_key(flip(public, 511).hex())
    with pytest.raises(ps.KeyFileError, match="has 65 bytes, expected 64"):
        ps.load_public_key("05" + public.hex())
    path = tmp_path / "platform.pub"
    path.write_text("hello\n")
    with pytest.raises(ps.KeyFileError, match="does not hold a public key.*found 5"):
        ps.load_public_key(path)


# ---- the doc's vector ----------------------------------------------------------------------

def doc_vector():
    """{name: value} of the ```sm2-vector block of docs/platform-signature.md."""
    block = DOC.read_text().split("```sm2-vector\n", 1)[1].split("```", 1)[0]
    fields = {}
    for line in block.strip().splitlines():
        name, value = line.split(None, 1)
        fields[name] = value.strip()
    return fields


def test_the_vector_of_the_doc():
    vector = doc_vector()
    public = bytes.fromhex(vector["public-key"])
    message = bytes.fromhex(vector["message"])
    signature = bytes.fromhex(vector["signature"])
    assert message.decode() == vector["message-text"].strip('"')
    assert len(public) == 64 and len(signature) == 64
    private = vector["private-key"].lower()
    assert ps.public_key(private) == public
    assert sm2.za(public) == bytes.fromhex(vector["za"]) == crypto_za(public)
    assert sm3.sm3(sm2.za(public) + message) == bytes.fromhex(vector["e"])
    assert sm2.verify(public, message, signature)
    assert ps.verify(public, message, signature)
    # the signature with the doc's nonce k is the doc's (gmssl, deterministic given k)
    again = ps._signer(private, public).sign_with_sm3(message, vector["k"])
    assert bytes.fromhex(again) == signature

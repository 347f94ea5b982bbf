# firmware: romfs
# heapsize: 64k
# SM3 (GB/T 32905) and SM2 signature verification (GB/T 32918.2) inside micropython, the
# modules imported in place from the ROMFS image as frozen on a board. The heap is the budget
# of docs/platform-signature.md: the harness, this module compiled from source, and a verify.
# Signatures: the example of GM/T 0003.5-2012 (the recommended curve, its d and k), and two
# made by gmssl on the host (hcterm.platform_signing; the third with another user ID, e
# computed with cryptography's SM3), written here as hex. tests/host/test_platform_signing.py
# checks random ones both ways on CPython.
import gc
import time
from binascii import unhexlify as h

from reader.terminal.sm2 import public_point, verify, verify_digest, za
from reader.terminal.sm3 import SM3, sm3

N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123

# GM/T 0003.5-2012 annex A: d = 3945208F..., k = 59276E27..., "message digest", default ID
STD_PUB = h("09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
            "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
STD_ZA = h("B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3")
STD_MSG = b"message digest"
STD_SIG = h("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
            "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")

# gmssl 3.2.2 (hcterm.platform_signing.sign), a 200-byte message: bytes (7i + 3) & 0xFF
GM_PUB = h("2f48b0af65d5f833a9e04603aaa6a175e97bd85e512bf32471cc150742b1793f"
           "c4bdc5def497b557fe63a5aeaf9cfcf9ebfd2640a45db8158e15e18564c302a8")
GM_SIG = h("8d93f12b319a482615cd3527161733bc35f36676ca64ffb6f6221b9d6484a6d9"
           "37937ec276eb3145cfba1a4f1650e78cf6f50a4bfd298334b2dfa56cfc4ce890")

# gmssl's sign() of e = SM3(ZA || "blacklist v3"), ZA with the ID "ALICE123@YAHOO.COM"
UID_PUB = h("250c174bf65900b88d9dad29f09cfaac58149515872b87eea2cca937933c66fb"
            "cc3470a911c4ad6308e5929df01513f69f19d2a968bf41231a04d3c321757438")
UID_SIG = h("4499324c0d62ec4be116b1677fa040c48c6a7e5806de25b739597917c7a96120"
            "03000325ab3f643dc4ddbf6ce33cfcc07099929b41efda6b1bb9b28c8c8c7de7")


def gm_message():
    return bytes((7 * i + 3) & 0xFF for i in range(200))


def flipped(data, index, bit=1):
    out = bytearray(data)
    out[index] ^= bit
    return bytes(out)


def raises_value_error(function, *args):
    try:
        function(*args)
    except ValueError:
        return True
    return False


# ---- SM3 -----------------------------------------------------------------------------------

def test_sm3_standard_vectors():
    # GB/T 32905-2016 annex A: "abc" and "abcd" * 16
    assert sm3(b"abc") == h("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    assert sm3(b"abcd" * 16) == h(
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
    assert SM3(b"abc").hexdigest() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")


def test_sm3_padding_boundaries_match_cryptography():
    # bytes 0, 1, 2, ... (i & 0xFF); the hashes from cryptography's SM3 on the host
    expected = (
        (0, "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"),
        (55, "a79cf9dcee3404abf7f769698201647fd9d3ff61d629d0f58bb4b5579a427db8"),
        (56, "62f7363b15f4de76dd925c493b9d6d00d4ba0ef2a1f334c1d0f13b293aeb40d1"),
        (63, "6165e4cbb15cde01c6226e0015a47f710f8f8e1f2c296700033bb34d9212109c"),
        (64, "93566f236d157aae078d1ddb5cebdbba1520b5142e22a8915564345ba2ae1d63"),
        (65, "c886e6814be748285a10b28ae62ddacd85db830cd2cf3a2bfa2f729c15f63618"),
        (119, "8f3ea392a89a7119982d6634660db1a95f35d68267a2235e3255998a857f4fbf"),
        (120, "6babee35e6a1515af9d6255109c24f3c08897829422c6225d235fd4c8527e9ec"),
        (128, "a9e7985473ca09df1510d83b572f72375430756c4a661b00724afeb8b75dd0a5"),
        (1000, "e1043d6f7910a57e49c10eb042760c060d07ea26866cb067cc5eecb42f9056a3"),
    )
    for size, digest in expected:
        data = bytes(i & 0xFF for i in range(size))
        assert sm3(data) == h(digest), size


def test_sm3_incremental_in_any_chunks():
    data = bytes(i & 0xFF for i in range(1000))
    whole = sm3(data)
    for chunk in (1, 3, 63, 64, 65, 200):
        hasher = SM3()
        for at in range(0, len(data), chunk):
            hasher.update(memoryview(data)[at:at + chunk])
        assert hasher.digest() == whole, chunk
    # digest() leaves the state: more data may follow
    hasher = SM3(b"ab")
    assert hasher.digest() == sm3(b"ab")
    hasher.update(b"c")
    assert hasher.digest() == sm3(b"abc")
    assert SM3().update(bytearray(b"abc")).digest() == sm3(b"abc")


def test_sm3_allocates_no_bytes_per_byte():
    hasher = SM3()
    data = bytes(64 * 16)
    hasher.update(data)             # warm
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        hasher.update(data)
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    # per 64-byte block: one tuple of 16 words (and, on a 32-bit port, long ints); none per
    # byte. 1024 bytes -> 16 blocks.
    print("sm3: %d bytes allocated for 1024 bytes hashed" % used)
    assert used < 16 * 200, used


# ---- SM2 -----------------------------------------------------------------------------------

def test_za_of_the_standard_example():
    assert za(STD_PUB) == STD_ZA
    assert za(b"\x04" + STD_PUB) == STD_ZA


def test_the_standard_example_verifies():
    assert verify(STD_PUB, STD_MSG, STD_SIG)
    assert verify(b"\x04" + STD_PUB, STD_MSG, STD_SIG)
    assert verify(memoryview(STD_PUB), memoryview(STD_MSG), bytearray(STD_SIG))


def test_signatures_made_by_gmssl_verify():
    assert verify(GM_PUB, gm_message(), GM_SIG)
    assert verify(UID_PUB, b"blacklist v3", UID_SIG, b"ALICE123@YAHOO.COM")
    # the other ID is part of what is signed
    assert not verify(UID_PUB, b"blacklist v3", UID_SIG)


def test_a_streamed_message_verifies_through_verify_digest():
    message = gm_message()
    hasher = SM3(za(GM_PUB))
    for at in range(0, len(message), 48):
        hasher.update(message[at:at + 48])
    assert verify_digest(GM_PUB, hasher.digest(), GM_SIG)
    assert not verify_digest(GM_PUB, flipped(hasher.digest(), 31), GM_SIG)


def test_a_tampered_message_fails():
    assert not verify(STD_PUB, b"message digesT", STD_SIG)
    assert not verify(STD_PUB, STD_MSG + b"\x00", STD_SIG)
    message = gm_message()
    for index in (0, 100, 199):
        assert not verify(GM_PUB, flipped(message, index), GM_SIG), index


def test_a_tampered_signature_fails():
    for index, bit in ((0, 0x80), (31, 1), (32, 0x80), (63, 1), (40, 0x10)):
        assert not verify(STD_PUB, STD_MSG, flipped(STD_SIG, index, bit)), index
    # r and s swapped
    assert not verify(STD_PUB, STD_MSG, STD_SIG[32:] + STD_SIG[:32])


def test_r_and_s_out_of_range_fail():
    r = STD_SIG[:32]
    s = STD_SIG[32:]
    zero = bytes(32)
    n = N.to_bytes(32, "big")
    top = b"\xff" * 32
    for sig in (zero + s, r + zero, n + s, r + n, top + s, r + top, zero + zero):
        assert not verify(STD_PUB, STD_MSG, sig)
    # r + s = n: t = 0
    r_int = int.from_bytes(r, "big")
    assert not verify(STD_PUB, STD_MSG, r + (N - r_int).to_bytes(32, "big"))


def test_a_key_off_the_curve_fails():
    assert public_point(STD_PUB) is not None
    bad = flipped(STD_PUB, 63)
    assert public_point(bad) is None
    assert not verify(bad, STD_MSG, STD_SIG)
    # a coordinate not below p
    assert not verify(b"\xff" * 64, STD_MSG, STD_SIG)
    assert not verify(bytes(64), STD_MSG, STD_SIG)
    # another valid key: a good signature of someone else
    assert not verify(GM_PUB, STD_MSG, STD_SIG)


def test_malformed_lengths_raise_value_error():
    assert raises_value_error(verify, STD_PUB[:63], STD_MSG, STD_SIG)
    assert raises_value_error(verify, STD_PUB + b"\x00", STD_MSG, STD_SIG)
    assert raises_value_error(verify, b"\x02" + STD_PUB, STD_MSG, STD_SIG)
    assert raises_value_error(verify, STD_PUB, STD_MSG, STD_SIG[:63])
    assert raises_value_error(verify, STD_PUB, STD_MSG, STD_SIG + b"\x00")
    assert raises_value_error(verify, STD_PUB, STD_MSG, b"")
    assert raises_value_error(verify_digest, STD_PUB, bytes(31), STD_SIG)
    assert raises_value_error(verify, STD_PUB, STD_MSG, STD_SIG, b"x" * 8192)


def test_verify_time_and_heap():
    # docs/platform-signature.md has these figures: the time of one verify, the bytes it
    # allocates in all (micropython.mem_total, on the unix port), the live heap before it
    # (its peak above that: the smallest -X heapsize that runs this test, minus `live`)
    import micropython

    total = getattr(micropython, "mem_total", lambda: 0)
    assert verify(STD_PUB, STD_MSG, STD_SIG)        # the first call's one-time allocations
    gc.collect()
    live = gc.mem_alloc()
    runs = 10
    allocated = total()
    start = time.ticks_us()
    for _ in range(runs):
        assert verify(STD_PUB, STD_MSG, STD_SIG)
    per_verify = time.ticks_diff(time.ticks_us(), start) // runs
    allocated = (total() - allocated) // runs
    gc.collect()
    after = gc.mem_alloc()
    print("sm2 verify: %d us, %d bytes allocated per verify, live before %d, after %d" % (
        per_verify, allocated, live, after))
    assert after <= live + 256, (live, after)       # nothing kept


def _verifies_with_free_heap(free):
    """True if a verify runs with only about `free` bytes of the heap left free (the rest
    taken by ballast)."""
    ballast = [None] * 512
    i = 0
    gc.collect()
    try:
        for size in (1024, 128, 16):
            try:
                while gc.mem_free() > free + 2 * size and i < 512:
                    ballast[i] = bytearray(size)
                    i += 1
            except MemoryError:     # no run of free blocks that long left: smaller ones
                pass
        if gc.mem_free() > free + 64:
            raise AssertionError("could not take the heap down to %d free" % free)
        try:
            return verify(STD_PUB, STD_MSG, STD_SIG)
        except MemoryError:
            return False
    finally:
        ballast = None
        gc.collect()


def test_verify_runs_in_a_small_free_heap():
    # the smallest free heap (in 256-byte steps) a verify runs in: docs/platform-signature.md
    assert verify(STD_PUB, STD_MSG, STD_SIG)
    assert _verifies_with_free_heap(8192)
    smallest = 8192
    while smallest > 256 and _verifies_with_free_heap(smallest - 256):
        smallest -= 256
    print("sm2 verify: runs with %d bytes of free heap, not %d" % (smallest, smallest - 256))

"""Well-framed hostile requests against a virtual reader (the real firmware, its default
heap budget): nesting and value counts are refused with BAD_REQUEST before parsing, and the reader
goes on answering (it used to die of a MemoryError in the decode and never answer again)."""

import pytest

from hcterm.link import DeviceError
from hcterm.sim.virtualreader import VirtualReader
from reader import hostlink


def nested(depth):
    body = []
    for _ in range(depth - 1):
        body = [body]
    return body


def test_deep_and_wide_payloads_are_refused_and_the_reader_goes_on(tmp_path):
    # at the flow's budget (docs/firmware-memory.md), where a 500-deep parse does not fit
    with VirtualReader(flash=tmp_path / "flash.img", heapsize="100k") as vr:
        reader = vr.open_reader()
        try:
            deep = {"files": nested(500)}
            assert len(hostlink.pack(deep)) <= hostlink.MAX_PAYLOAD
            wide = {"fields": [1] * 400}
            for msg, body, words in ((hostlink.READ, deep, "nested deeper than 6 levels"),
                                     (hostlink.CONFIG_GET, deep, "nested deeper"),
                                     (hostlink.CONFIG_GET, deep, "nested deeper"),
                                     (hostlink.CONFIG_GET, deep, "nested deeper"),
                                     (hostlink.READ, wide, "more than 256 values")):
                with pytest.raises(DeviceError) as error:
                    reader.request(msg, body)
                assert error.value.code == hostlink.BAD_REQUEST, error.value
                assert words in error.value.message and "payload refused" in \
                    error.value.message, error.value.message
            info = reader.info()                      # still serving
            assert info["board"] == "sim-pn532-uart" and info["heap_free"] > 0
            assert reader.config()["read_profile"]
        finally:
            reader.close()
        assert "MemoryError" not in vr.firmware_output()


def test_hostile_payloads_through_the_firmware_parsing_and_a_live_reader(tmp_path):
    # hcterm bench link-fuzz --hostile at a size for the suite (full size: 10^6 and 10^5)
    from hcterm.link import hostile

    items = hostile.corpus(2000, seed=5)
    shapes = {p[:1] for _, p in items}
    assert b"[" in shapes and b"{" in shapes                 # nesting and objects both
    parsing = hostile.parse_on_micropython(items, 20000, str(tmp_path))
    assert parsing["payloads"] == 20000 and parsing["memory_errors"] == 0, parsing
    assert parsing["refused"] > 5000 and parsing["accepted"] > 1000, parsing
    assert parsing["heap_left_bytes"] < 1024, parsing
    live = hostile.live(250, seed=6)
    assert live["lost"] == 0 and live["reader_answers_after"] is True, live
    assert live["terminal_faults"] == 0 and live["answers"]["error"] > 100, live

"""`hcterm bench soak` at a size for the suite: taps of every sample card in turn, pulled
cards among them, each event the expected one, the heap not shrinking, the reader answering
after (the full run: `hcterm bench soak --taps 10000`)."""

import argparse

from hcterm.commands.bench_soak import run


def test_a_short_soak_has_no_problem():
    result = run(argparse.Namespace(taps=40, board="sim-pn532-uart", heapsize="112k"))
    assert result["problems"] == 0, result["first_problems"]
    assert result["reader_answers_after"] is True
    assert result["watchdog_resets"] == 0, result               # the main loop never stalled
    assert result["pulled_before_activation"] == 0, result    # every pulled card was read
    assert result["heap_free_last"] >= result["heap_free_first"] - 2048, result
    assert result["first_200_p50_ms"] < 200, result

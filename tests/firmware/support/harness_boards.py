# pytest's side, inside micropython: the board of this run of a module that runs once per
# board (`# boards: sim-pn532-uart sim-rc522`, tests/conftest.py), and the marker of a test
# that applies to some of them only.
#
#   from harness_boards import BOARD, only_on
#
#   @only_on("sim-rc522")
#   def test_rst_line_resets_the_chip(): ...
#
# tests/conftest.py reads `@only_on(...)` from the source (one line, the boards' names as
# string literals) and collects the test for those boards alone; on the other boards it does
# not exist, and the harness is not asked to run it. Run there anyway, it fails.
import os

BOARD = os.getenv("MPTEST_BOARD")    # set by tests/conftest.py for each board's run


def only_on(*boards):
    def mark(test):
        if BOARD in boards:
            return test

        def elsewhere():
            raise AssertionError("only for %s, this run is for %s" % (" ".join(boards), BOARD))

        return elsewhere

    return mark

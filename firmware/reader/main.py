"""Entry point of the reader firmware: `reader.main.boot(board)` from main.py / simboot.py."""

import json

from reader import selftest


def boot(board):
    """Power-on: run the self-test and report it on the USB port.

    The report is one line `SELFTEST {json}` until the host link protocol carries it."""
    report = selftest.run(board)
    print("SELFTEST " + json.dumps(report))
    return report

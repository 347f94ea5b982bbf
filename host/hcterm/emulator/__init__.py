"""The other side of every wire the firmware drives: card, SAM, reader chips, QR scanner.

Runs in CPython on the host, inside `hcterm sim` / `hcterm emu` and in tests.
"""

from .card import load_card  # noqa: E402,F401  (issue 3: the emulated health card)

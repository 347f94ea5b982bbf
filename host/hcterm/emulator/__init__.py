"""The other side of every wire the firmware drives: card, SAM, reader chips, QR scanner.

Runs in CPython on the host, inside `hcterm sim` / `hcterm emu` and in tests.
"""

"""Helpers shared by the tests (not tests themselves), named for the side of the wire they
run on:

- emu_*: the emulator's side, the devices the firmware or a client talks to:
  emu_benches.py (sim-bus wirings and the "bench" UART for the health card firmware tests,
  `# simbus: support.emu_benches:FUNCTION`), emu_driver_benches.py (the same for the driver
  integration tests, tests/firmware/mptest_sim_*.py), emu_standins.py (a stand-in card)
- board_*: the board's side of an emulated device: board_wire.py (what a UART device sends)
- host_*: the host's side: host_bridge_wait.py (an HTTP client waiting for a bridge's reader)
- required_tools.py: on neither wire; skip marks for tests that need an outside program
- parser_outcomes.py: runs on both sides of a replay, CPython and the `micropython` binary:
  what a shared parser makes of an input, as text (tests/host/test_parser_properties.py)

tests/ is on sys.path (tests/conftest.py), so tests import them as `support.NAME`.
"""

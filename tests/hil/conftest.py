"""The hardware-in-the-loop suite: the acceptance checks (hcterm.flashing.acceptance, the
same ones `hcterm accept` runs) against the reader on `--port`:

    pytest tests/hil --port /dev/ttyACM0                          # a board, the operator
    pytest tests/hil --port PTY --control SOCKET                  # a virtual reader

Without --port every test is skipped, saying so. CI runs it against a virtual reader's port
(tests/host/test_accept.py)."""

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("hil", "hardware in the loop (tests/hil)")
    group.addoption("--port", default=None, help="the reader's serial port")
    group.addoption("--presenter", choices=("virtual", "manual"), default=None,
                    help="virtual (with --control) or manual (the operator, prompted); "
                         "default: virtual with --control, else manual")
    group.addoption("--control", default=None,
                    help="the virtual reader's control socket (hcterm sim --control PATH)")


def _option(config, name):
    try:
        return config.getoption(name)
    except ValueError:      # this conftest was loaded after the command line was read
        return None


@pytest.fixture(scope="session")
def acceptance(request):
    from hcterm.flashing.acceptance import Acceptance
    from hcterm.flashing.presenters import ManualPresenter, VirtualPresenter
    from hcterm.link import Reader

    port = _option(request.config, "--port")
    if not port:
        pytest.skip("no reader: give its port with --port (and --control for a virtual "
                    "reader's)")
    control = _option(request.config, "--control")
    kind = _option(request.config, "--presenter") or ("virtual" if control else "manual")
    if kind == "virtual":
        if not control:
            pytest.fail("--presenter virtual needs --control PATH (the virtual reader's "
                        "control socket)")
        presenter = VirtualPresenter(control)
    else:
        presenter = ManualPresenter(port)
    with Reader(port, timeout=10, open_timeout=20) as reader:
        yield Acceptance(reader, presenter)

"""Host tools for the health card reader: emulator, virtual reader, link client, bridge."""

import reader  # noqa: F401 - installs the `micropython` shim the shared firmware modules need

__version__ = "0.1.0"
from hcterm.link import Reader  # noqa: E402,F401 - `hcterm.Reader(url)`

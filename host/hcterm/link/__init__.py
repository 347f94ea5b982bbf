"""The host's side of a reader's host link (docs/host-link.md): the client and its tools.

    from hcterm.link import Reader        # also `hcterm.Reader`

Modules:

- client.py: `Reader`, the client over pyserial (its requests), and `OpenDevice`
- session.py: `LinkSession`, the session under Reader (acknowledged requests, retries,
  reconnects, events, the REPL hand-off)
- errors.py: the client's exceptions (`ReaderError` and its kinds)
- national.py: the national reader interface's names on Reader (`PowerOn`, `iR_…Info`, …);
  national_visits.py its DF03 functions (visit records), retcodes.py its return codes
- fields.py: card fields as the national interface gives them (`to_national`, `to_device`)
- fuzz.py: fuzzing the link (frame streams for both decoders, `PortProxy`, `LineNoise`);
  not imported here
"""

from .client import OpenDevice, Reader
from .errors import (
                     DeviceError,
                     LinkTimeout,
                     NotConnected,
                     NotSupported,
                     ReaderError,
                     RequestTooLarge,
)
from .fields import to_device, to_national

__all__ = [
    "DeviceError",
    "LinkTimeout",
    "NotConnected",
    "NotSupported",
    "OpenDevice",
    "Reader",
    "ReaderError",
    "RequestTooLarge",
    "to_device",
    "to_national",
]

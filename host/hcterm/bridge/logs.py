"""Structured logs of the bridge: one JSON object per line on stderr, ID numbers masked.

    log = bridge_logger()                       # logger "hcterm.bridge", JSON lines
    log.info("tap", extra={"fields": {"reader": "r1", "KH": "110101199003071234"}})
    -> {"time": "…", "level": "info", "event": "tap", "reader": "r1", "KH": "110101********1234"}

Masking is done on the finished line, so no field, message or exception text can carry a
whole ID number out: every run of 18 characters that looks like a citizen ID number (17
digits and a digit or X; GB 11643) keeps its first 6 (the region) and last 4 characters,
the 8 between become `*`. QR codes are bearer credentials for their validity: log them
with `mask_qr` (first 8 characters). aiohttp's and asyncio's own lines come the same way.
"""

import json
import logging
import re
import sys
import time

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")


def mask_ids(text):
    """Every ID number in `text` -> `110101********1234`."""
    return _ID_NUMBER.sub(r"\1********\2", text)


def mask_qr(text):
    text = str(text or "")
    return text[:8] + "…" if len(text) > 8 else text


class JsonLines(logging.Formatter):
    def format(self, record):
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
                + f".{int(record.msecs):03d}", "level": record.levelname.lower(),
                "event": record.getMessage()}
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return mask_ids(json.dumps(line, ensure_ascii=False, default=str))


# the libraries whose own lines (aiohttp's server errors, asyncio's task errors) go through the
# same masked JSON lines; the bridge's app also hands its logger to aiohttp's connections
LIBRARY_LOGGERS = ("aiohttp", "asyncio")


def bridge_logger(stream=None, level=logging.INFO):
    """The logger "hcterm.bridge", writing JSON lines to `stream` (stderr); the warnings and
    errors of aiohttp and asyncio are written the same way (masked) to the same stream."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    log = logging.getLogger("hcterm.bridge")
    log.setLevel(level)
    for name, logger in [("hcterm.bridge", log)] + [
            (lib, logging.getLogger(lib)) for lib in LIBRARY_LOGGERS]:
        logger.propagate = False
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        if name in LIBRARY_LOGGERS:
            logger.setLevel(logging.WARNING)
    return log

"""The host's side, for bridge tests: waiting for a bridge (hcterm.bridge) to have its reader
connected, as an HTTP client of its API."""

import asyncio
import time


async def reader_connected(http, url, reader="r1", timeout=20):
    """Poll GET /api/readers/<reader> until its state is "connected" (AssertionError after
    `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        async with http.get(f"{url}/api/readers/{reader}") as r:
            if (await r.json())["state"] == "connected":
                return
        assert time.monotonic() < deadline, f"{reader} not connected after {timeout} s"
        await asyncio.sleep(0.1)

"""Tap -> WebSocket through the bridge, on the virtual reader with the terminal flow."""

import asyncio
import json

import aiohttp
from support.host_bridge_wait import reader_connected

from hcterm.bridge.app import create_app, start_site
from hcterm.sim.virtualreader import VirtualReader


def test_tap_and_removal_reach_the_websocket(tmp_path):
    async def scenario(vr):
        app = create_app([vr.port], "tap-token")
        runner, url = await start_site(app)
        try:
            async with aiohttp.ClientSession() as http:
                ws = await http.ws_connect(url + "/api/events")
                await reader_connected(http, url)
                vr.devices.tap("adult")
                event = None
                while event is None or event["type"] != "tap":
                    event = json.loads((await ws.receive(timeout=10)).data)
                assert event["reader"] == "r1" and event["status"] == "ok", event
                # the adult sample's fields, text decoded, at the top level of the event
                assert (event["KH"], event["XM"], event["SFZH"]) == (
                    "410105198503154213", "张伟", "410105198503154213"), event
                assert event["latency_ms"] > 0
                vr.devices.remove()
                while event["type"] != "removed":
                    event = json.loads((await ws.receive(timeout=10)).data)
                assert event["reader"] == "r1"
                await ws.close()
        finally:
            await runner.cleanup()

    with VirtualReader(flash=tmp_path / "flash.img") as vr:
        asyncio.run(asyncio.wait_for(scenario(vr), 50))

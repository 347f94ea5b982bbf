"""The bridge's live screen: GET /api/readers/{id}/screen.png on sim-handheld (the firmware's
`screen` request, page by page, then a PNG), compared with the text drawn from unifont; a
reader without a display answers not-supported."""

import asyncio
import json

import aiohttp
from support.host_bridge_wait import reader_connected
from test_display_screens import expected, glass_from_png

from hcterm.bridge.app import create_app, start_site
from hcterm.sim.virtualreader import VirtualReader


def on_bridge(vr, check):
    """Run `check(http, url)` against a bridge serving virtual reader `vr` as r1."""
    async def scenario():
        runner, url = await start_site(create_app([vr.port], "screen-token"))
        try:
            async with aiohttp.ClientSession() as http:
                await reader_connected(http, url)
                await check(http, url)
        finally:
            await runner.cleanup()

    asyncio.run(asyncio.wait_for(scenario(), 50))


def test_the_handheld_screen_follows_a_tap(tmp_path):
    async def check(http, url):
        ws = await http.ws_connect(url + "/api/events")
        async with http.get(url + "/api/readers/r1/screen.png") as answer:
            assert answer.status == 200 and answer.content_type == "image/png"
            assert glass_from_png(await answer.read()) == expected(
                ["黑名单过期", "时钟未设置", "无黑名单", "请联网更新"])
        vr.devices.tap("locked")
        event = None
        while event is None or event["type"] != "tap":
            event = json.loads((await ws.receive(timeout=10)).data)
        await asyncio.sleep(0.3)
        async with http.get(url + "/api/readers/r1/screen.png") as answer:
            assert glass_from_png(await answer.read()) == expected(
                ["拒绝受理", "卡已锁定", None, None])
        await ws.close()

    with VirtualReader("sim-handheld", flash=tmp_path / "flash.img") as vr:
        on_bridge(vr, check)


def test_a_reader_without_a_display_says_so(tmp_path):
    async def check(http, url):
        async with http.get(url + "/api/readers/r1/screen.png") as answer:
            body = await answer.json()
            assert answer.status >= 400, body
            assert "board sim-pn532-uart has no display" in body["message"], body

    with VirtualReader(flash=tmp_path / "flash.img") as vr:
        on_bridge(vr, check)

"""The bridge's live screen: GET /api/readers/{id}/screen.png on sim-handheld (the firmware's
`screen` request, page by page, then a PNG), compared with the text drawn from unifont; a
reader without a display answers not-supported."""

import asyncio
import io
import json

import aiohttp
from PIL import Image
from support.host_bridge_wait import reader_connected
from test_display_screens import expected

from hcterm.bridge.app import create_app, start_site
from hcterm.screen_image import BORDER, SCALE
from hcterm.sim.virtualreader import VirtualReader


def glass(png):
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return [[image.getpixel((BORDER + x * SCALE, BORDER + y * SCALE)) != (0, 0, 0)
             for x in range(128)] for y in range(64)]


def test_the_handheld_screen_follows_a_tap(tmp_path):
    async def scenario(vr):
        app = create_app([vr.port], "screen-token")
        runner, url = await start_site(app)
        try:
            async with aiohttp.ClientSession() as http:
                ws = await http.ws_connect(url + "/api/events")
                await reader_connected(http, url)
                async with http.get(url + "/api/readers/r1/screen.png") as answer:
                    assert answer.status == 200 and answer.content_type == "image/png"
                    assert glass(await answer.read()) == expected(
                        ["黑名单过期", "时钟未设置", "无黑名单", "请联网更新"])
                vr.devices.tap("locked")
                event = None
                while event is None or event["type"] != "tap":
                    event = json.loads((await ws.receive(timeout=10)).data)
                await asyncio.sleep(0.3)
                async with http.get(url + "/api/readers/r1/screen.png") as answer:
                    assert glass(await answer.read()) == expected(
                        ["拒绝受理", "卡已锁定", None, None])
                await ws.close()
        finally:
            await runner.cleanup()

    with VirtualReader("sim-handheld", flash=tmp_path / "flash.img", heapsize="128k") as vr:
        asyncio.run(asyncio.wait_for(scenario(vr), 50))


def test_a_reader_without_a_display_says_so(tmp_path):
    async def scenario(vr):
        app = create_app([vr.port], "screen-token")
        runner, url = await start_site(app)
        try:
            async with aiohttp.ClientSession() as http:
                await reader_connected(http, url)
                async with http.get(url + "/api/readers/r1/screen.png") as answer:
                    body = await answer.json()
                    assert answer.status >= 400, body
                    assert "board sim-pn532-uart has no display" in body["message"], body
        finally:
            await runner.cleanup()

    with VirtualReader(flash=tmp_path / "flash.img") as vr:
        asyncio.run(asyncio.wait_for(scenario(vr), 50))

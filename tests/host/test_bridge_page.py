"""The integrator page at / in headless Chromium (Debian's /usr/bin/chromium), driven over the
DevTools protocol with aiohttp's WebSocket client: it lists the virtual reader, shows events
the reader pushes (a replug: state changes and the new boot's self-test), and a click on
Read shows the answer. Saves a screenshot (BRIDGE_PAGE_SCREENSHOT=path to keep it). A refused
tap is shown with its reason in words, coded fields with their meaning, and Chinese names as
glyphs of a CJK font (fonts-noto-cjk), not as missing-glyph boxes."""

import asyncio
import base64
import io
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from support.host_bridge_wait import reader_connected
from support.required_tools import needs

from hcterm.bridge.app import create_app, start_site
from hcterm.bridge.logs import bridge_logger
from hcterm.sim.virtualreader import VirtualReader

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--window-size=1280,900", "--remote-debugging-port=0"]

pytestmark = needs(os.path.exists(CHROMIUM),
                   "Debian chromium is not installed (/usr/bin/chromium)")


def _cjk_font():
    """Whether fontconfig knows a font for Chinese (fonts-noto-cjk; dev.sh installs it)."""
    if shutil.which("fc-list") is None:
        return False
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    return bool(out.stdout.strip())


# Draws each character of the element's text, and one character no font has (U+0378, an
# unassigned code point: the missing-glyph box or nothing), on a canvas in the element's own
# font family (canvas text takes the same font fallback as the page); answers, per character,
# a hash of the pixels and how many are inked. Without a font for the characters every one is
# drawn as the same box: then the two names' characters look alike, and like the missing one.
GLYPHS_JS = """((selector) => {
  const node = document.querySelector(selector);
  const style = getComputedStyle(node);
  const draw = (text) => {
    const canvas = Object.assign(document.createElement("canvas"), {width: 80, height: 56});
    const g = canvas.getContext("2d");
    g.font = `${style.fontWeight} 40px ${style.fontFamily}`;
    g.textBaseline = "top";
    g.fillText(text, 8, 8);
    const alpha = g.getImageData(0, 0, 80, 56).data.filter((_, i) => i % 4 === 3);
    let hash = 0, ink = 0;
    for (const a of alpha) { hash = (hash * 31 + a) >>> 0; ink += a > 127 ? 1 : 0; }
    return {hash, ink};
  };
  return {family: style.fontFamily, text: node.textContent,
          chars: [...node.textContent].map(draw), missing: draw("\u0378")};
})"""


def assert_glyphs(shown):
    """`shown`: GLYPHS_JS's answer; every character drawn as a glyph of its own."""
    chars, missing = shown["chars"], shown["missing"]
    assert len(chars) >= 2, shown
    for char, image in zip(shown["text"], chars):
        assert image["ink"] > 20, f"{char!r} is drawn blank: {shown}"
        assert image["hash"] != missing["hash"], \
            f"{char!r} is drawn as the missing-glyph box (no CJK font?): {shown}"
    assert len({image["hash"] for image in chars}) == len(chars), \
        f"the characters of {shown['text']!r} look alike (missing-glyph boxes?): {shown}"


class Chromium:
    """Headless Chromium and one page, over the DevTools protocol."""

    async def open_page(self, url):
        """Connect, open the bridge's page at `url` and wait until reader r1 shows connected
        and the event stream is live; returns the JS expression of r1's table row."""
        await self.connect()
        await self.send("Page.enable")
        await self.send("Page.navigate", url=url)
        row = 'document.querySelector(\'tr[data-reader="r1"]\')'
        await self.wait_for(f"{row}?.querySelector('.state').textContent === 'connected' "
                            "&& document.getElementById('conn').textContent === 'live'",
                            "r1 connected")
        return row

    def __init__(self, http, flags=()):
        self.http = http
        self.profile = tempfile.mkdtemp(prefix="bridge-chromium-")
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, *flags, f"--user-data-dir={self.profile}",
                                      "about:blank"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.ids = itertools.count(1)
        self.ws = None

    async def connect(self, timeout=20):
        active = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (active.exists() and active.read_text().count("\n") >= 1):
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port"
            assert self.proc.poll() is None, "Chromium exited"
            await asyncio.sleep(0.05)
        port = int(active.read_text().split()[0])
        while True:
            async with self.http.get(f"http://127.0.0.1:{port}/json/list") as r:
                pages = [t for t in await r.json() if t["type"] == "page"]
            if pages:
                break
            assert time.monotonic() < deadline, "no page target"
            await asyncio.sleep(0.05)
        self.ws = await self.http.ws_connect(pages[0]["webSocketDebuggerUrl"],
                                             max_msg_size=64 * 1024 * 1024)

    async def send(self, method, timeout=15, **params):
        ident = next(self.ids)
        await self.ws.send_json({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no answer to {method}"
            msg = json.loads((await self.ws.receive(timeout=left)).data)
            if msg.get("id") == ident:
                assert "error" not in msg, msg
                return msg["result"]

    async def js(self, expression):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def wait_for(self, expression, what, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            value = await self.js(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"the page did not show {what}"
            await asyncio.sleep(0.1)

    async def click(self, selector):
        box = await self.js(f"""(() => {{ const r = document.querySelector({json.dumps(selector)})
            .getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                            button="left", clickCount=1)

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def test_page_lists_readers_shows_events_and_reads(tmp_path):
    link = str(tmp_path / "usb0")
    flash = tmp_path / "flash.img"
    shot = Path(os.environ.get("BRIDGE_PAGE_SCREENSHOT", tmp_path / "page.png"))
    running = [VirtualReader(flash=flash, port_link=link).start()]

    async def scenario():
        logs = io.StringIO()
        app = create_app([link], "page-token", log=bridge_logger(logs))
        runner, url = await start_site(app)
        async with aiohttp.ClientSession() as http:
            browser = Chromium(http)
            try:
                row = await browser.open_page(url + "/")
                text = await browser.js(f"{row}.textContent")
                assert link in text and "sim-pn532-uart" in text, text
                # the reader is unplugged and comes back: its events reach the page
                await asyncio.to_thread(running.pop().stop)
                await browser.wait_for("document.querySelector('#events li[data-type=state]')"
                                       "?.textContent.includes('disconnected')",
                                       "the disconnected state")
                running.append(VirtualReader(flash=flash, port_link=link).start())
                await browser.wait_for("document.querySelector('#events li[data-type="
                                       "selftest]')?.textContent.includes('self-test ok')",
                                       "the self-test event of the new boot", timeout=25)
                await browser.wait_for(f"{row}.querySelector('button.read').disabled === "
                                       "false", "an enabled Read button")
                # a card on the reader, then a click on Read: the answer is shown
                running[0].devices.tap("adult")
                await browser.click('tr[data-reader="r1"] button.read')
                title = await browser.wait_for(
                    "document.getElementById('result-title').textContent.includes('HTTP') &&"
                    " document.getElementById('result-title').textContent", "a read result")
                status = int(title.rsplit(" ", 1)[1])
                async with http.post(url + "/api/readers/r1/read", json={}) as r:
                    direct = await r.json()
                    assert r.status == status, (title, direct)
                if status == 200:
                    rows = await browser.js("[...document.querySelectorAll('#result tr')]"
                                            ".map(r => r.textContent).join('|')")
                    assert "KH" in rows and direct["KH"] in rows, rows
                else:
                    shown = await browser.js("document.getElementById('result-error')"
                                             ".textContent")
                    # (the same error as a direct request; a firmware fault's text may vary)
                    assert shown.startswith(direct["error"] + ": ") and \
                        shown.endswith(direct["action"]), (shown, direct)
                picture = await browser.send("Page.captureScreenshot", format="png")
                shot.write_bytes(base64.b64decode(picture["data"]))
                assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            except AssertionError as error:
                raise AssertionError(f"{error}\nbridge log:\n{logs.getvalue()[-3000:]}") \
                    from None
            finally:
                await browser.close()
                await runner.cleanup()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 55))
    finally:
        for vr in running:
            vr.stop()


@needs(_cjk_font(), "no CJK font (apt-get install fonts-noto-cjk)")
def test_page_shows_refusals_meanings_and_chinese_names(tmp_path):
    """A refused tap shows its reason in words; a card's XB and MZ their meaning; the Read
    menu offers every read profile; the holder's name 张伟 is drawn as CJK glyphs."""
    from reader.cards.healthcard import PROFILES

    link = str(tmp_path / "usb0")
    shot = Path(os.environ.get("BRIDGE_PAGE_SCREENSHOT_CJK", tmp_path / "page-cjk.png"))

    async def scenario(vr):
        logs = io.StringIO()
        app = create_app([link], "page-token", log=bridge_logger(logs))
        runner, url = await start_site(app)
        async with aiohttp.ClientSession() as http:
            browser = Chromium(http)
            try:
                row = await browser.open_page(url + "/")
                options = await browser.js(f"[...{row}.querySelectorAll('select.profile "
                                           "option')].map(o => o.value)")
                assert set(PROFILES) <= set(options), options
                # an expired card: refused, and the page says why
                vr.devices.tap("expired")
                refused = await browser.wait_for(
                    "document.querySelector('#events li[data-type=tap] .summary')?.textContent",
                    "the refused tap")
                assert refused.startswith("refused: the card has expired"), refused
                vr.devices.tap("adult")
                name = "#events li[data-type=tap] .v[data-field=XM]"
                await browser.wait_for(f"document.querySelector({json.dumps(name)})"
                                       "?.textContent === '张伟'", "the tap of 张伟")
                field = "document.querySelector('#events li[data-type=tap] .v[data-field={}]')"
                # XB in its national form (GB/T 2261.1: 1 male), MZ (GB 3304: 01 Han)
                assert await browser.js(field.format("XB") + ".textContent") == "1男 (male)"
                assert await browser.js(field.format("MZ") + ".textContent") == "01汉族"
                shown = await browser.js(f"{GLYPHS_JS}({json.dumps(name)})")
                assert "Noto Sans CJK SC" in shown["family"], shown
                assert_glyphs(shown)
                picture = await browser.send("Page.captureScreenshot", format="png")
                shot.write_bytes(base64.b64decode(picture["data"]))
            except AssertionError as error:
                raise AssertionError(f"{error}\nbridge log:\n{logs.getvalue()[-3000:]}") \
                    from None
            finally:
                await browser.close()
                await runner.cleanup()

    with VirtualReader(flash=tmp_path / "flash.img", port_link=link) as vr:
        asyncio.run(asyncio.wait_for(scenario(vr), 55))


# The bridge's URL and token come in the query (the page is served before the bridge starts:
# the bridge is started with --allow-origin for the page's origin).
HIS_PAGE = """<!doctype html><title>HIS</title><pre id="out"></pre><script>
const q = new URLSearchParams(location.search);
fetch(q.get("bridge") + "/api/readers/r1/apdu", {method: "POST",
      headers: {"Authorization": "Bearer " + q.get("token"), "Content-Type": "application/json"},
      body: JSON.stringify({slot: "sam1", apdu: "00A40000023F00", power_on: true})})
  .then(r => r.json().then(b => { out.textContent = `HTTP ${r.status} ${JSON.stringify(b)}`; }))
  .catch(e => { out.textContent = "failed: " + e; });
</script>"""


async def serve_his_page():
    """The HIS page on an origin of its own (127.0.0.1, another free port): (runner, URL)."""
    async def page(request):
        return web.Response(text=HIS_PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    return await start_site(app)


SHOWN = "document.getElementById('out')?.textContent"
APDU = "/api/readers/r1/apdu"


def run_his_pages(tmp_path, token, steps, public=False):
    """Two HIS pages on origins of their own (127.0.0.1, two free ports), a bridge over a
    virtual reader allowing the first, headless Chromium (told the pages' addresses are
    public when `public`): `await steps(browser, allowed, other, query, seen)`, where `query`
    gives a page the bridge's URL and token and `seen()` lists the bridge's answers to the
    APDU route as (method, path, status)."""
    async def scenario(vr):
        logs = io.StringIO()
        runners, browser = [], None
        async with aiohttp.ClientSession() as http:
            try:
                for _ in range(2):
                    runners.append(await serve_his_page())
                (_, allowed), (_, other) = runners
                app = create_app([vr.port], token, log=bridge_logger(logs),
                                 allow_origins=[allowed])
                runner, url = await start_site(app)
                runners.append((runner, url))
                await reader_connected(http, url)
                spaces = ",".join(f"{u.split('//')[1]}=public" for u in (allowed, other))
                browser = Chromium(http, [f"--ip-address-space-overrides={spaces}"]
                                   if public else [])
                await browser.connect()
                await browser.send("Page.enable")

                def seen():
                    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
                    return [(x["method"], x["path"], x["status"]) for x in lines
                            if x["event"] == "http" and x["path"] == APDU]

                await steps(browser, allowed, other, f"/?bridge={url}&token={token}", seen)
            except AssertionError as error:
                raise AssertionError(f"{error}\nbridge log:\n{logs.getvalue()[-3000:]}") \
                    from None
            finally:
                if browser is not None:
                    await browser.close()
                for runner, _ in runners:
                    await runner.cleanup()

    with VirtualReader(flash=tmp_path / "flash.img") as vr:
        asyncio.run(asyncio.wait_for(scenario(vr), 55))


def test_page_on_another_origin_calls_the_api_when_allowed(tmp_path):
    """A page on another origin POSTs JSON with the token, so Chromium sends a CORS preflight
    first: answered for the allowed origin (the page shows the API's answer), refused for
    another (the page's fetch fails)."""
    async def steps(browser, allowed, other, query, seen):
        await browser.send("Page.navigate", url=allowed + query)
        text = await browser.wait_for(SHOWN, "the API's answer on the allowed origin")
        assert text.startswith("HTTP 200 "), text
        answer = json.loads(text.split(" ", 2)[2])
        assert answer["slot"] == "sam1" and answer["responses"][0]["sw"], answer
        await browser.send("Page.navigate", url=other + query)
        text = await browser.wait_for(SHOWN, "a fetch failure on the other origin")
        assert text.startswith("failed: TypeError"), text
        # the preflight answered, then the POST; the other origin's preflight refused
        assert seen() == [("OPTIONS", APDU, 204), ("POST", APDU, 200),
                          ("OPTIONS", APDU, 403)], seen()

    run_his_pages(tmp_path, "cors-token", steps)


def test_a_public_his_page_reaches_the_bridge_only_with_local_network_access(tmp_path):
    """A HIS page on a public origin calling the bridge on 127.0.0.1 (Chromium is told the
    page's address is public: --ip-address-space-overrides). This Chromium (Local Network
    Access, which replaced the Private Network Access preflight) sends nothing to the bridge
    until the user allows the site to reach this device (the loopback-network permission);
    then the CORS preflight and the POST go through for the allowed origin, and the other
    origin is still refused by the bridge."""
    async def steps(browser, allowed, other, query, seen):
        # not allowed by the user yet: blocked in the browser, nothing reaches the bridge
        await browser.send("Page.navigate", url=allowed + query)
        text = await browser.wait_for(SHOWN, "a blocked fetch")
        assert text.startswith("failed: TypeError"), text
        assert seen() == [], seen()
        # the user allows the sites to reach this device: CORS preflight, then the POST
        for origin in (allowed, other):
            await browser.send("Browser.grantPermissions", permissions=["loopbackNetwork"],
                               origin=origin)
        await browser.send("Page.navigate", url=allowed + query + "&again=1")
        text = await browser.wait_for(SHOWN, "the API's answer")
        assert text.startswith("HTTP 200 "), text
        assert seen() == [("OPTIONS", APDU, 204), ("POST", APDU, 200)], seen()
        # a public page of another origin, allowed by the user but not by the bridge
        await browser.send("Page.navigate", url=other + query)
        text = await browser.wait_for(SHOWN, "the other origin refused")
        assert text.startswith("failed: TypeError"), text
        assert seen()[2:] == [("OPTIONS", APDU, 403)], seen()

    run_his_pages(tmp_path, "lna-token", steps, public=True)

"""POST /api/blacklist and the blacklist status in GET /api/readers, against two virtual
readers behind one bridge (docs/bridge.md): a signed list to both, a delta to one, the
reader's refusal in the JSON error shape, the token, a file that is no blacklist."""

import asyncio

import aiohttp

from hcterm import blacklist_files as bf
from hcterm.bridge.app import create_app, start_site
from hcterm.bridge.logs import bridge_logger
from hcterm.commands.demo import provision_demo_key
from hcterm.emulator import samples
from hcterm.sim.virtualreader import VirtualReader

TOKEN = "blacklist-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/octet-stream"}


def signed(ids, version, base=None):
    entries = bf.read_list("\n".join(ids))
    data = bf.build_delta(base, entries, version) if base else bf.build_list(entries, version)
    return bf.sign(data, samples.DEMO_PLATFORM_KEY)


IDS = ["410105198503154213", "410702198804302754", "41022219830225667X"]


def test_push_a_list_and_a_delta_through_the_bridge(tmp_path):
    import io

    async def scenario(a, b):
        for vr in (a, b):
            with vr.open_reader(open_timeout=30, timeout=10) as reader:
                provision_demo_key(reader)
        app = create_app([a.port, b.port], TOKEN, log=bridge_logger(io.StringIO()))
        runner, url = await start_site(app)
        try:
            async with aiohttp.ClientSession() as http:
                async def readers():
                    async with http.get(url + "/api/readers") as r:
                        return {x["id"]: x for x in (await r.json())["readers"]}

                async def push(data, query="", headers=AUTH):
                    async with http.post(url + "/api/blacklist" + query, data=data,
                                         headers=headers) as r:
                        return r.status, await r.json()

                for _ in range(200):      # connected, and the blacklist status asked
                    state = await readers()
                    if all(x["state"] == "connected" and x["blacklist"] for x in
                           state.values()):
                        break
                    await asyncio.sleep(0.1)
                assert state["r1"]["blacklist"]["installed"] is False, state
                assert state["r1"]["blacklist"]["stale"] is True

                v1 = signed(IDS, 1)
                status, body = await push(v1, headers={})
                assert (status, body["error"]) == (401, "unauthorized"), body
                status, body = await push(b"not a list at all", headers=AUTH)
                assert (status, body["error"]) == (400, "bad-request"), body
                assert "not a blacklist file" in body["message"] and body["action"]

                status, body = await push(v1)
                assert status == 200, body
                assert (body["version"], body["kind"]) == (1, "list")
                assert [(r["reader"], r["ok"], r["blacklist"]["version"])
                        for r in body["results"]] == [("r1", True, 1), ("r2", True, 1)]
                state = await readers()
                assert state["r1"]["blacklist"]["count"] == 3
                assert state["r2"]["blacklist"]["version"] == 1
                assert state["r1"]["blacklist"]["stale"] is False
                assert 0 <= state["r1"]["blacklist"]["age_s"] < 60

                d2 = signed(IDS[:2], 2, base=v1)
                status, body = await push(d2, "?reader=r2")
                assert status == 200 and body["kind"] == "delta", body
                assert [r["reader"] for r in body["results"]] == ["r2"]
                state = await readers()
                assert (state["r1"]["blacklist"]["version"],
                        state["r2"]["blacklist"]["version"]) == (1, 2)

                # the delta again to both: r1 (at its base) installs it, r2 holds it
                # already; then an unsigned version 3: both refuse it
                status, body = await push(d2)
                assert status == 200, body
                assert body["results"][1]["blacklist"].get("already") is True, body
                unsigned = bf.build_list(bf.read_list("\n".join(IDS)), 3)
                status, body = await push(unsigned)
                assert status == 400, body
                assert body["error"] == "blacklist-not-installed", body
                assert "2 of 2 readers" in body["message"] and "not signed" in body["message"]
                assert all(r["ok"] is False and r["error"] == "device-error"
                           and r["status"] == 400 and "old list" in r["action"]
                           for r in body["results"]), body
                # one reader: its error is the answer's
                status, body = await push(signed(IDS, 1), "?reader=r1")
                assert status == 400 and body["reader"] == "r1", body
                assert "never rolls back" in body["message"], body
                status, body = await push(v1, "?reader=r9")
                assert (status, body["error"]) == (404, "reader-not-found"), body
                state = await readers()
                assert [state[r]["blacklist"]["version"] for r in ("r1", "r2")] == [2, 2]
        finally:
            await runner.cleanup()

    with VirtualReader(flash=tmp_path / "a.img") as a, \
            VirtualReader(flash=tmp_path / "b.img") as b:
        asyncio.run(asyncio.wait_for(scenario(a, b), 90))

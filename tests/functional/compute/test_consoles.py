"""Remote consoles: URLs and tokens through the Nova API, and the serial websocket proxy."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from stackling.settings import Settings
from tests.conftest import issue_token
from tests.support.identity import project_member
from tests.support.serve import served
from tests.support.servers import (
    V21,
    action,
    assert_nova_fault,
    boot,
    boot_image,
    mv,
    wait_gone,
    wait_status,
)

SERIAL = {"remote_console": {"protocol": "serial", "type": "serial"}}


async def _console(
    c: httpx.AsyncClient,
    sid: str,
    body: object = SERIAL,
    version: str = "2.6",
    token: str | None = None,
) -> httpx.Response:
    return await c.post(
        f"{V21}/servers/{sid}/remote-consoles", json=body, headers=mv(version, token)
    )


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


@pytest.fixture
async def server_id(admin: httpx.AsyncClient, tmp_path: Path) -> str:
    """An ACTIVE server on the fake driver."""
    sid = await boot(admin, await boot_image(admin, tmp_path))
    await wait_status(admin, sid, "ACTIVE")
    return sid


async def test_serial_console_url_and_its_token(admin: httpx.AsyncClient, server_id: str) -> None:
    r = await _console(admin, server_id)
    assert r.status_code == 200, r.text
    console = r.json()["remote_console"]
    assert console["protocol"] == "serial" and console["type"] == "serial"
    parts = urlsplit(console["url"])
    assert parts.scheme == "ws" and parts.path == "/compute/console/serial"
    r = await admin.get(
        f"{V21}/os-console-auth-tokens/{_token(console['url'])}", headers=mv("2.31")
    )
    assert r.status_code == 200, r.text
    shown = r.json()["console"]
    assert shown["instance_uuid"] == server_id and shown["host"]
    # A token with one character changed, or garbage, leads nowhere.
    token = _token(console["url"])
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (forged, "nonsense", "a.b"):
        assert_nova_fault(
            await admin.get(f"{V21}/os-console-auth-tokens/{bad}", headers=mv("2.31")), 404
        )
    # Deleting the server ends what its tokens reach.
    await admin.delete(f"{V21}/servers/{server_id}")
    await wait_gone(admin, server_id)
    r = await admin.get(f"{V21}/os-console-auth-tokens/{token}", headers=mv("2.31"))
    assert_nova_fault(r, 404)


async def test_console_requests_are_checked_as_nova_does(
    admin: httpx.AsyncClient, server_id: str
) -> None:
    bad_bodies = [
        {},
        {"remote_console": {"protocol": "serial"}},
        {"remote_console": {"protocol": "serial", "type": "serial", "extra": 1}},
        {"remote_console": {"protocol": "telnet", "type": "serial"}},
        {"remote_console": {"protocol": "serial", "type": "novnc"}},
        {"remote_console": {"protocol": "mks", "type": "webmks"}},  # mks needs 2.8
        {"remote_console": "serial"},
    ]
    for body in bad_bodies:
        assert_nova_fault(await _console(admin, server_id, body), 400, "badRequest")
    # A valid request for a console type this cloud does not serve.
    r = await _console(admin, server_id, {"remote_console": {"protocol": "vnc", "type": "novnc"}})
    assert "Unavailable console type novnc" in assert_nova_fault(r, 400)["message"]
    # Before 2.6 there is no such resource, and the old actions answer instead.
    assert_nova_fault(await _console(admin, server_id, version="2.5"), 404)
    r = await action(admin, server_id, {"os-getSerialConsole": {"type": "serial"}}, version="2.5")
    assert r.status_code == 200, r.text
    assert r.json()["console"]["type"] == "serial"
    assert r.json()["console"]["url"].startswith("ws://")
    r = await action(admin, server_id, {"os-getSerialConsole": {"type": "serial"}}, version="2.6")
    assert_nova_fault(r, 404)
    r = await action(admin, server_id, {"os-getVNCConsole": {"type": "novnc"}}, version="2.1")
    assert_nova_fault(r, 400)
    r = await action(admin, server_id, {"os-getSerialConsole": {"type": "novnc"}}, version="2.1")
    assert_nova_fault(r, 400)
    # A stopped server has no console to reach.
    assert (await action(admin, server_id, {"os-stop": None})).status_code == 202
    await wait_status(admin, server_id, "SHUTOFF")
    r = await _console(admin, server_id)
    assert "is not ready" in assert_nova_fault(r, 409, "conflictingRequest")["message"]


async def test_consoles_are_the_owners_only(admin: httpx.AsyncClient, server_id: str) -> None:
    _, _, token = await project_member(admin)
    assert_nova_fault(await _console(admin, server_id, token=token), 404, "itemNotFound")
    r = await _console(admin, server_id)
    url = r.json()["remote_console"]["url"]
    r = await admin.get(f"{V21}/os-console-auth-tokens/{_token(url)}", headers=mv("2.31", token))
    assert_nova_fault(r, 403)


def _ws_url(client: httpx.AsyncClient, url: str) -> str:
    """The console URL, pointed at the port the test server really listens on."""
    parts = urlsplit(url)
    return f"ws://{client.base_url.host}:{client.base_url.port}{parts.path}?{parts.query}"


async def test_serial_proxy_joins_a_websocket_to_the_console(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with served(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        sid = await boot(c, await boot_image(c, tmp_path))
        await wait_status(c, sid, "ACTIVE")
        url = _ws_url(c, (await _console(c, sid)).json()["remote_console"]["url"])
        async with websockets.connect(url, subprotocols=["binary"], open_timeout=10) as ws:
            assert ws.subprotocol == "binary"
            await ws.send(b"echo from the test\n")
            assert await _until(ws, b"echo from the test\n")
            # A second client takes the console over; the first is let go.
            async with websockets.connect(url, open_timeout=10) as ws2:
                await ws2.send("second\n")
                assert await _until(ws2, b"second\n")
                with pytest.raises(ConnectionClosed):
                    for _ in range(10):
                        await _recv(ws)
        r = await action(c, sid, {"os-getConsoleOutput": {}})
        assert "echo from the test" in r.json()["output"]
        # A forged token is refused at the handshake.
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(url[:-3] + "xyz", open_timeout=10):
                pass
        assert refused.value.response.status_code == 403
        # So is the token of a deleted server.
        await c.delete(f"{V21}/servers/{sid}")
        await wait_gone(c, sid)
        with pytest.raises(InvalidStatus):
            async with websockets.connect(url, open_timeout=10):
                pass
    # The handshakes were logged, their credential was not.
    assert "WebSocket /compute/console/serial?token=***" in caplog.text
    assert _token(url) not in caplog.text


async def _recv(ws: websockets.ClientConnection) -> bytes:
    data = await asyncio.wait_for(ws.recv(), 5)
    return data if isinstance(data, bytes) else data.encode()


async def _until(ws: websockets.ClientConnection, expected: bytes) -> bool:
    got = b""
    while expected not in got:
        got += await _recv(ws)
    return True

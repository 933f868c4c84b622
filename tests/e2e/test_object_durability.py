"""kill -9 during a hundred concurrent object PUTs: whole objects or none, and no litter.

A real `stackling up` (identity and object) takes 100 PUTs at once over 10
object names, each body a distinct payload streamed slowly enough that most
are still being written when the server is SIGKILLed. After a restart on the
same data dir every name is either absent or byte-identical to one payload
sent for it, an object acknowledged before the kill is intact, the container's
counters match its listing, and the store holds no unpublished file and no
file that no row references.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sqlite3
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.process import StacklingProcess, child_env, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ADMIN_PASSWORD = "object-durability-admin-pw"
SERVICES = '["identity", "object"]'
MIB = 1 << 20
WRITERS = 100
NAMES = 10
# Answered PUTs before the SIGKILL: enough to know the burst got going, few
# enough that most writers are mid-body when it lands.
KILL_AFTER = 5
# Bodies are streamed in slices with a pause between them, so that a PUT takes
# a few hundred milliseconds and the kill finds many in flight.
SLICE = 256 * 1024
PAUSE_S = 0.02


@dataclass(frozen=True)
class Payload:
    """What one writer sends: its name, size and seed (the bytes are regenerated)."""

    writer: int
    name: str
    size: int
    seed: int

    def slices(self) -> Iterator[bytes]:
        """The body: a header naming the writer, then seeded random bytes."""
        header = f"writer={self.writer:03d} name={self.name}\n".encode()
        rng = random.Random(self.seed)
        yield header
        left = self.size - len(header)
        while left > 0:
            piece = rng.randbytes(min(SLICE, left))
            left -= len(piece)
            yield piece

    def sha256(self) -> str:
        """The body's sha256."""
        digest = hashlib.sha256()
        for piece in self.slices():
            digest.update(piece)
        return digest.hexdigest()


def _payloads() -> list[Payload]:
    rng = random.Random(2024)
    return [
        Payload(i, f"obj-{i % NAMES:02d}", rng.randint(2 * MIB, 6 * MIB), seed=10_000 + i)
        for i in range(WRITERS)
    ]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StacklingProcess]:
    """A foreground `stackling up` child (identity, object); killed and reaped whatever happens."""
    proc = StacklingProcess(
        tmp_path / "data",
        free_port(),
        child_env(
            STACKLING_ADMIN_PASSWORD=ADMIN_PASSWORD,
            STACKLING_SERVICES=SERVICES,
            # Reclaiming within a second keeps the wait for freed data short.
            STACKLING_OBJECT__REAPER_INTERVAL_S="1",
        ),
    )
    try:
        yield proc
    finally:
        proc.kill()


def _login(client: httpx.Client) -> tuple[str, str]:
    """The admin's token and project id."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": ADMIN_PASSWORD,
                    }
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    r = client.post("/identity/v3/auth/tokens", json=body)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"], r.json()["token"]["project"]["id"]


async def _throttled(payload: Payload) -> AsyncIterator[bytes]:
    for piece in payload.slices():
        yield piece
        await asyncio.sleep(PAUSE_S)


@dataclass
class Burst:
    """What the burst saw: acknowledged writers (-> ETag), failed PUTs, writes in progress."""

    acknowledged: dict[int, str]
    failed: int
    # Unpublished files in the store at the moment of the kill.
    partial_at_kill: int


async def _burst(server: StacklingProcess, base: str, token: str, payloads: list[Payload]) -> Burst:
    """All PUTs at once, SIGKILL after KILL_AFTER answers."""
    acknowledged: dict[int, str] = {}
    failed = 0
    partial_at_kill = 0
    enough = asyncio.Event()
    limits = httpx.Limits(max_connections=WRITERS, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=base, timeout=60.0, limits=limits, headers={"X-Auth-Token": token}
    ) as client:

        async def put(payload: Payload) -> None:
            nonlocal failed
            try:
                r = await client.put(
                    f"/burst/{payload.name}",
                    content=_throttled(payload),
                    headers={"Content-Type": "application/octet-stream"},
                )
            except httpx.HTTPError:
                failed += 1
                return
            if r.status_code == 201:
                acknowledged[payload.writer] = r.headers["etag"].strip('"')
                if len(acknowledged) >= KILL_AFTER:
                    enough.set()
            else:
                failed += 1

        async def killer() -> None:
            nonlocal partial_at_kill
            try:
                await asyncio.wait_for(enough.wait(), timeout=120)
                partial_at_kill = len(_files(server.data_dir / "objects" / ".partial"))
            finally:
                server.kill()

        await asyncio.gather(killer(), *(put(p) for p in payloads))
    return Burst(acknowledged, failed, partial_at_kill)


def _files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file()}


def _db_rows(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(data_dir / "stackling.db", timeout=10)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_sigkill_during_concurrent_puts_leaves_whole_objects_and_no_litter(
    server: StacklingProcess,
) -> None:
    payloads = _payloads()
    sent: dict[str, dict[str, int]] = defaultdict(dict)  # name -> sha256 -> writer
    for payload in payloads:
        sent[payload.name][payload.sha256()] = payload.writer

    server.start()
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        token, project_id = _login(client)
        base = f"{server.url}/object/v1/AUTH_{project_id}"
        client.headers["X-Auth-Token"] = token
        assert client.put(f"{base}/burst").status_code == 201
        before = random.Random(7).randbytes(3 * MIB + 11)
        r = client.put(f"{base}/burst/before-the-kill", content=before)
        assert r.status_code == 201, r.text
        # A server-side copy is a second file (a hard link of the first): both must survive.
        r = client.put(
            f"{base}/burst/copy-before-the-kill",
            headers={"X-Copy-From": "burst/before-the-kill"},
        )
        assert r.status_code == 201, r.text

    started = time.monotonic()
    burst = asyncio.run(_burst(server, base, token, payloads))
    acknowledged = burst.acknowledged
    assert len(acknowledged) >= KILL_AFTER, burst
    # The kill really landed mid-burst: some PUTs never got their answer, and
    # the store was holding writes in progress.
    assert burst.failed > 0, "every PUT was answered before the kill; nothing was tested"
    assert burst.partial_at_kill > 0, "no write was in progress at the kill"
    assert time.monotonic() - started < 180
    assert server.proc is not None and server.proc.returncode is not None

    server.start()
    store = server.data_dir / "objects"
    # Start-up publishes the committed writes the crash interrupted and discards the rest.
    assert _files(store / ".partial") == set()
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        client.headers["X-Auth-Token"], _ = _login(client)
        client.base_url = httpx.URL(f"{base}/")
        for name in ("before-the-kill", "copy-before-the-kill"):
            r = client.get(f"/burst/{name}")
            assert r.status_code == 200, (name, r.status_code)
            assert r.content == before, name

        present: dict[str, int] = {}
        acked_names = {payloads[w].name for w in acknowledged}
        for name, digests in sorted(sent.items()):
            r = client.get(f"/burst/{name}")
            if r.status_code == 404:
                assert name not in acked_names, f"{name} was acknowledged, then lost"
                continue
            assert r.status_code == 200, (name, r.status_code)
            digest = hashlib.sha256(r.content).hexdigest()
            assert digest in digests, f"{name}: {len(r.content)} bytes sent by no writer (torn?)"
            writer = digests[digest]
            assert r.content.startswith(f"writer={writer:03d} name={name}\n".encode())
            assert r.headers["etag"].strip('"') == hashlib.md5(r.content).hexdigest()
            present[name] = len(r.content)
        # Every acknowledged name is there (a later, unanswered PUT may have replaced it).
        assert acked_names <= set(present)

        listing = client.get("/burst", params={"format": "json"}).json()
        assert {o["name"]: o["bytes"] for o in listing} == {
            **present,
            "before-the-kill": len(before),
            "copy-before-the-kill": len(before),
        }
        head = client.head("/burst")
        assert int(head.headers["x-container-object-count"]) == len(listing)
        assert int(head.headers["x-container-bytes-used"]) == sum(o["bytes"] for o in listing)

    # The reaper removes what overwritten objects freed; then every stored file is an object's.
    deadline = time.monotonic() + 10
    while _db_rows(server.data_dir, "SELECT file_id FROM object_freed_data"):
        assert time.monotonic() < deadline, "freed data was not reclaimed within 10 s"
        time.sleep(0.2)
    referenced = {row[0] for row in _db_rows(server.data_dir, "SELECT file_id FROM object_objects")}
    stored = _files(store / "data")
    assert stored == referenced, (
        f"unreferenced files: {sorted(stored - referenced)[:5]}, "
        f"missing files: {sorted(referenced - stored)[:5]}"
    )
    assert _files(store / ".partial") == set()
    # uvicorn re-raises SIGTERM once it has shut down gracefully.
    assert server.stop() in (0, -15)
    rows = _db_rows(server.data_dir, "PRAGMA integrity_check")
    assert rows == [("ok",)]

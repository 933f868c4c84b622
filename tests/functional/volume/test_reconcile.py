"""Start-up reconcile with the file backend: interrupted work converges, orphans go."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from stackling.settings import Settings
from tests.conftest import issue_token, make_settings, running_client
from tests.functional.volume.support import V3, auth, create_volume, settle


def _file_settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(
        tmp_path / "data", database={"url": db_url}, services=["identity", "volume"]
    )


async def test_restart_converges_and_sweeps(tmp_path: Path, db_url: str) -> None:
    settings = _file_settings(tmp_path, db_url)
    root = tmp_path / "data" / "volume"
    async with running_client(settings) as c:
        token = await issue_token(c)
        kept = await create_volume(c, token, size=1)
        stuck = await create_volume(c, token, size=2)
        assert kept["status"] == "available"
        assert (root / f"volume-{kept['id']}.qcow2").is_file()
        gone = await create_volume(c, token)
        # Leave one volume as a crash would: back in `creating` with its file missing,
        # and another in `deleting` with its file still there.
        r = await c.post(
            f"{V3}/volumes/{stuck['id']}/action",
            json={"os-reset_status": {"status": "creating"}},
            headers=auth(token),
        )
        assert r.status_code == 202
        (root / f"volume-{stuck['id']}.qcow2").unlink()
        r = await c.post(
            f"{V3}/volumes/{gone['id']}/action",
            json={"os-reset_status": {"status": "deleting"}},
            headers=auth(token),
        )
        assert r.status_code == 202
    orphan = str(uuid.uuid4())
    (root / f"volume-{orphan}.qcow2").write_bytes(b"left over")
    (root / f".volume-{orphan}.qcow2.partial").write_bytes(b"half")
    async with running_client(settings) as c:
        token = await issue_token(c)
        r = await c.get(f"{V3}/volumes/{stuck['id']}", headers=auth(token))
        assert r.json()["volume"]["status"] == "available"
        assert (root / f"volume-{stuck['id']}.qcow2").is_file()
        r = await c.get(f"{V3}/volumes/{gone['id']}", headers=auth(token))
        assert r.status_code == 404
        names = sorted(p.name for p in root.iterdir())
        assert names == sorted(f"volume-{v['id']}.qcow2" for v in (kept, stuck))


async def test_file_backend_extends_the_qcow2(tmp_path: Path, db_url: str) -> None:
    settings = _file_settings(tmp_path, db_url)
    async with running_client(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        vol = await create_volume(c, size=1)
        r = await c.post(f"{V3}/volumes/{vol['id']}/action", json={"os-extend": {"new_size": 2}})
        assert r.status_code == 202
        assert (await settle(c, vol["id"]))["size"] == 2
        backend = c._transport.app.state.runtime.service("volume").svc.backend  # type: ignore[attr-defined]
        assert await backend.size_of(vol["id"]) == 2
        r = await c.delete(f"{V3}/volumes/{vol['id']}")
        assert r.status_code == 202
        assert await settle(c, vol["id"]) == {}
        assert not any((tmp_path / "data" / "volume").iterdir())


async def test_catalog_lists_block_storage(admin: httpx.AsyncClient) -> None:
    r = await admin.get("/identity/v3/auth/catalog")
    types = {entry["type"]: entry for entry in r.json()["catalog"]}
    assert types["block-storage"]["endpoints"][0]["url"].endswith("/volume/v3")
    project_url = types["volumev3"]["endpoints"][0]["url"]
    assert "/volume/v3/" in project_url and "$(" not in project_url

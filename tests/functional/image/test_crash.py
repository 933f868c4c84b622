"""Recovery at start-up from transfers a crash interrupted, with the real app restarted.

A crash is simulated where it matters, in what it leaves behind: image rows
left mid-transfer by this host (written straight into the settings' database
between two runs of the app) and leftover files under the stores' `.partial/`
directories. Proves that after a restart an interrupted upload is `queued`
again with its partial file gone and takes a new upload; an interrupted
stage or import whose staged data survived can be imported again; the
interrupted task is marked failed; and rows another host was writing are left
alone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.db.engine import Database
from stackling.image import models as m
from stackling.settings import Settings
from tests.conftest import issue_token, running_client
from tests.support.image import (
    V2,
    create_image,
    hashes,
    put_data,
    show_image,
    upload,
    wait_for_status,
)


async def _db_write(settings: Settings, fn: Callable[[AsyncSession], Awaitable[Any]]) -> None:
    """Change rows directly, as the crashed process left them, while no app runs."""
    db = Database(settings.database.url)
    try:
        await db.write(fn)
    finally:
        await db.dispose()


def _crashed(image_id: str, status: str, host: str, **values: Any) -> Any:
    async def _set(s: AsyncSession) -> None:
        await s.execute(
            update(m.Image)
            .where(m.Image.id == image_id)
            .values(status=status, busy_host=host, **values)
        )

    return _set


async def _admin(c: httpx.AsyncClient) -> httpx.AsyncClient:
    c.headers["X-Auth-Token"] = await issue_token(c)
    return c


def _partial_dir(settings: Settings, store: str = "file") -> Path:
    return settings.data_dir / "images" / store / ".partial"


async def test_interrupted_upload_is_queued_again_and_its_partial_removed(
    settings: Settings,
) -> None:
    async with running_client(settings) as c:
        image = await create_image(await _admin(c), name="interrupted")
        other = await create_image(c, name="other-host")
    image_id = image["id"]
    # The crash: the row says this host was saving; half the data sits in .partial/.
    await _db_write(settings, _crashed(image_id, "saving", socket.gethostname()))
    await _db_write(settings, _crashed(other["id"], "saving", "some-other-host"))
    partial = _partial_dir(settings) / f"{image_id}.0123456789ab"
    partial.write_bytes(os.urandom(100_000))
    staging_partial = _partial_dir(settings, "staging") / f"{other['id']}.ba9876543210"
    staging_partial.write_bytes(b"half-staged")

    async with running_client(settings) as c:
        admin = await _admin(c)
        got = await show_image(admin, image_id)
        assert got["status"] == "queued", got
        assert got["size"] is None and got["checksum"] is None
        assert not partial.exists() and not staging_partial.exists()
        assert list(_partial_dir(settings).iterdir()) == []
        # Another host's transfer is that host's to recover.
        assert (await show_image(admin, other["id"]))["status"] == "saving"
        r = await admin.get(f"{V2}/info/usage")
        assert r.json()["usage"]["image_count_uploading"]["usage"] == 1

        data = os.urandom(300_000)
        got = await upload(admin, image_id, data)
        assert (got["size"], got["checksum"], got["os_hash_value"]) == (len(data), *hashes(data))
        r = await admin.get(f"{V2}/images/{image_id}/file")
        assert r.content == data
        files = {p.name for p in (settings.data_dir / "images" / "file").iterdir() if p.is_file()}
        assert files == {image_id}


async def test_interrupted_stage_without_staged_data_goes_back_to_queued(
    settings: Settings,
) -> None:
    async with running_client(settings) as c:
        image = await create_image(await _admin(c))
    await _db_write(settings, _crashed(image["id"], "uploading", socket.gethostname()))
    (_partial_dir(settings, "staging") / f"{image['id']}.000000000000").write_bytes(b"half")

    async with running_client(settings) as c:
        admin = await _admin(c)
        assert (await show_image(admin, image["id"]))["status"] == "queued"
        assert list(_partial_dir(settings, "staging").iterdir()) == []
        await upload(admin, image["id"], b"after the crash")


async def test_interrupted_import_with_staged_data_can_be_imported_again(
    settings: Settings,
) -> None:
    data = os.urandom(200_000)
    async with running_client(settings) as c:
        admin = await _admin(c)
        image = await create_image(admin)
        assert (await put_data(admin, image["id"], data, what="stage")).status_code == 204
        queued = await create_image(admin)

    async def _task(s: AsyncSession) -> None:
        s.add(
            m.Task(
                id="00000000-0000-0000-0000-00000000cafe",
                type="api_image_import",
                status="processing",
                owner=None,
                image_id=image["id"],
                input={},
            )
        )

    # The crash came while the import ran: importing, with its task still processing.
    await _db_write(settings, _crashed(image["id"], "importing", socket.gethostname()))
    await _db_write(settings, _task)
    # And another image died while its stage was being written (no staged data).
    await _db_write(settings, _crashed(queued["id"], "importing", socket.gethostname()))

    async with running_client(settings) as c:
        admin = await _admin(c)
        assert (await show_image(admin, image["id"]))["status"] == "uploading"
        assert (await show_image(admin, queued["id"]))["status"] == "queued"
        tasks = (await admin.get(f"{V2}/images/{image['id']}/tasks")).json()["tasks"]
        assert [(t["id"], t["status"]) for t in tasks] == [
            ("00000000-0000-0000-0000-00000000cafe", "failure")
        ]
        r = await admin.post(
            f"{V2}/images/{image['id']}/import", json={"method": {"name": "glance-direct"}}
        )
        assert r.status_code == 202, r.text
        got = await wait_for_status(admin, image["id"], {"active", "killed", "queued"})
        assert got["status"] == "active"
        assert got["checksum"] == hashes(data)[0]
        r = await admin.get(f"{V2}/images/{image['id']}/file")
        assert r.content == data


async def test_data_of_images_deleted_before_the_crash_is_purged(settings: Settings) -> None:
    async with running_client(settings) as c:
        admin = await _admin(c)
        image = await create_image(admin)
        await upload(admin, image["id"], b"to be orphaned")
    stored = settings.data_dir / "images" / "file" / image["id"]
    assert stored.exists()

    async def _orphan(s: AsyncSession) -> None:
        # What a delete records before a crash stops it from removing the file.
        loc = (await s.scalars(select(m.ImageLocation))).one()
        s.add(m.OrphanData(store=loc.store, url=loc.url))
        await s.delete(loc)
        await s.execute(update(m.Image).values(status="deleted"))

    await _db_write(settings, _orphan)
    async with running_client(settings) as c:
        admin = await _admin(c)
        assert not stored.exists()
        assert_missing = await admin.get(f"{V2}/images/{image['id']}")
        assert assert_missing.status_code == 404

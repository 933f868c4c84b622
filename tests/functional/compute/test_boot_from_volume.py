"""Boot from volume: block_device_mapping_v2 on POST /servers, as Nova with Cinder answers it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings
from tests.functional.volume.support import V3, create_volume
from tests.support.servers import (
    V21,
    assert_nova_fault,
    boot_image,
    mv,
    show,
    wait_gone,
    wait_status,
)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A single-host cloud with compute and volume (fake hypervisor, fake volume backend)."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "placement", "image", "compute", "volume"],
        volume={"backend": "fake"},
    )


@pytest.fixture
async def image_id(admin: httpx.AsyncClient, tmp_path: Path) -> str:
    """A public bootable image."""
    return await boot_image(admin, tmp_path)


async def _create(
    c: httpx.AsyncClient, bdms: list[dict[str, Any]], **fields: Any
) -> httpx.Response:
    server = {
        "name": "bfv", "flavorRef": "100", "networks": "none",
        "block_device_mapping_v2": bdms, **fields,
    }  # fmt: skip
    return await c.post(f"{V21}/servers", json={"server": server}, headers=mv("2.67"))


async def _volume(c: httpx.AsyncClient, volume_id: str) -> dict[str, Any]:
    r = await c.get(f"{V3}/volumes/{volume_id}")
    assert r.status_code == 200, r.text
    return dict(r.json()["volume"])


def _guest(c: httpx.AsyncClient, server_id: str) -> Any:
    compute = c._transport.app.state.runtime.service("compute")  # type: ignore[attr-defined]
    return compute.agents[0].driver._guest(server_id).spec


async def test_boot_from_an_image_made_into_a_volume(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    r = await _create(
        admin,
        [{"uuid": image_id, "source_type": "image", "destination_type": "volume",
          "boot_index": 0, "volume_size": 1, "delete_on_termination": True}],
    )  # fmt: skip
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    server = await wait_status(admin, sid, "ACTIVE")
    # Nova shows no image for a server booted from a volume.
    assert server["image"] == ""
    (attached,) = server["os-extended-volumes:volumes_attached"]
    volume = await _volume(admin, attached["id"])
    assert volume["status"] == "in-use" and volume["bootable"] == "true"
    assert volume["attachments"][0]["device"] == "/dev/vda"
    assert volume["attachments"][0]["server_id"] == sid
    spec = _guest(admin, sid)
    assert spec.image_path is None
    (root,) = spec.volumes
    assert root.boot_index == 0 and root.target_dev == "vda" and root.volume_id == attached["id"]
    r = await admin.delete(f"{V21}/servers/{sid}")
    assert r.status_code == 204
    await wait_gone(admin, sid)
    for _ in range(100):
        r = await admin.get(f"{V3}/volumes/{attached['id']}")
        if r.status_code == 404:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 404, "delete_on_termination volume outlived its server"


async def test_boot_from_an_existing_volume_keeps_it(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    vol = await create_volume(admin, imageRef=image_id)
    assert vol["bootable"] == "true"
    r = await _create(
        admin,
        [{"uuid": vol["id"], "source_type": "volume", "destination_type": "volume",
          "boot_index": 0}],
    )  # fmt: skip
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    await wait_status(admin, sid, "ACTIVE")
    assert (await _volume(admin, vol["id"]))["status"] == "in-use"
    # Another boot from the same volume is refused: it is no longer available.
    r = await _create(admin, [{"uuid": vol["id"], "source_type": "volume", "boot_index": 0}])
    assert_nova_fault(r, 400, "badRequest")
    r = await admin.delete(f"{V21}/servers/{sid}")
    await wait_gone(admin, sid)
    for _ in range(100):
        if (await _volume(admin, vol["id"]))["status"] == "available":
            break
        await asyncio.sleep(0.05)
    assert (await _volume(admin, vol["id"]))["status"] == "available"


async def test_two_boots_race_for_one_volume(admin: httpx.AsyncClient, image_id: str) -> None:
    vol = await create_volume(admin, imageRef=image_id)
    bdm = [{"uuid": vol["id"], "source_type": "volume", "boot_index": 0}]
    answers = await asyncio.gather(*(_create(admin, bdm) for _ in range(5)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [202, 400, 400, 400, 400], [a.text for a in answers]
    (won,) = [a for a in answers if a.status_code == 202]
    await wait_status(admin, won.json()["server"]["id"], "ACTIVE")
    r = await admin.get(f"{V21}/servers", headers=mv("2.1"))
    assert len(r.json()["servers"]) == 1


async def test_refusals(admin: httpx.AsyncClient, image_id: str) -> None:
    missing = "8d3b6b5e-6c0e-4b84-9a51-5d7e8c0f3b11"
    r = await _create(admin, [{"uuid": missing, "source_type": "volume", "boot_index": 0}])
    assert "failed to get volume" in assert_nova_fault(r, 400, "badRequest")["message"]
    r = await _create(
        admin,
        [{"uuid": image_id, "source_type": "image", "destination_type": "volume",
          "boot_index": 0}],
    )  # fmt: skip
    assert "non-zero size" in assert_nova_fault(r, 400, "badRequest")["message"]
    vol = await create_volume(admin)
    bdm = [{"uuid": vol["id"], "source_type": "volume", "boot_index": 0}]
    r = await _create(admin, bdm, min_count=2, max_count=2)
    assert_nova_fault(r, 400, "badRequest")
    # Nothing was reserved by the refused boots.
    assert (await _volume(admin, vol["id"]))["status"] == "available"


async def test_a_failed_volume_fails_the_build_and_gives_volumes_back(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    volume_svc = admin._transport.app.state.runtime.service("volume").svc  # type: ignore[attr-defined]
    volume_svc.backend.fail_next = "import_image"
    r = await _create(
        admin,
        [{"uuid": image_id, "source_type": "image", "destination_type": "volume",
          "boot_index": 0, "volume_size": 1}],
    )  # fmt: skip
    sid = r.json()["server"]["id"]
    server = await wait_status(admin, sid, "ERROR")
    assert "did not finish being created" in server["fault"]["message"]
    shown = await show(admin, sid)
    assert shown["status"] == "ERROR"

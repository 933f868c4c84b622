"""The image service under real clients, and a real server killed in the middle of an upload.

Proves that the `openstack` CLI and openstacksdk, unmodified, can upload
(plain PUT and stage + glance-direct import), download byte-identical data of
a 200 MiB image, set properties and tags, share an image between projects
through the member handshake, and are refused what Glance refuses a non-admin;
and that a `stackling up` process SIGKILLed halfway through a 500 MiB upload
restarts with the image not active, no partial or final data file left, and
takes the same upload again, which then downloads identical.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openstack
import pytest

from tests.support.cloud import Cloud, detached_cloud
from tests.support.process import StacklingProcess, child_env, free_port

pytestmark = pytest.mark.e2e

MIB = 1 << 20
CHUNK = 8 * MIB
MEMBER_PASSWORD = "image-member-pw"


@dataclass
class Digests:
    """What Glance reports about data (md5, sha512) and what we compare copies by (sha256)."""

    size: int
    md5: str
    sha256: str
    sha512: str


def _random_chunks(size: int, seed: int) -> Iterator[bytes]:
    """`size` pseudo-random bytes in CHUNK pieces, the same for the same seed."""
    rng = random.Random(seed)
    left = size
    while left > 0:
        piece = rng.randbytes(min(CHUNK, left))
        left -= len(piece)
        yield piece


def _write_random(path: Path, size: int, seed: int) -> Digests:
    md5, sha256, sha512 = hashlib.md5(), hashlib.sha256(), hashlib.sha512()
    with path.open("wb") as fh:
        for piece in _random_chunks(size, seed):
            fh.write(piece)
            for h in (md5, sha256, sha512):
                h.update(piece)
    return Digests(size, md5.hexdigest(), sha256.hexdigest(), sha512.hexdigest())


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while piece := fh.read(CHUNK):
            h.update(piece)
    return h.hexdigest()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """One detached cloud for the client tests of this module (its image data removed after)."""
    data_dir = tmp_path_factory.mktemp("image-cloud") / "data"
    try:
        with detached_cloud(data_dir) as c:
            yield c
    finally:
        shutil.rmtree(data_dir / "images", ignore_errors=True)


@dataclass
class Member:
    """A non-admin user with the member role on its own project."""

    name: str
    project: str
    project_id: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def member(cloud: Cloud) -> Member:
    """A second project and a member-role user on it."""
    project = _name("img-proj")
    project_id = cloud.openstack("project", "create", project, "-f", "json")["id"]
    user = _name("img-user")
    cloud.openstack("user", "create", user, "--password", MEMBER_PASSWORD, "-f", "json")
    cloud.openstack("role", "add", "--user", user, "--project", project, "member")
    return Member(user, project, project_id, cloud.as_user(user, MEMBER_PASSWORD, project))


def _show(cloud: Cloud, image: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    return dict(cloud.openstack("image", "show", image, "-f", "json", env=env))


def _ids(cloud: Cloud, *args: str, env: dict[str, str] | None = None) -> set[str]:
    rows = cloud.openstack("image", "list", *args, "-f", "json", env=env)
    return {row["ID"] for row in rows}


def _properties(shown: dict[str, Any]) -> dict[str, Any]:
    props = shown.get("properties") or {}
    return dict(props) if isinstance(props, dict) else {}


# -- the openstack CLI --------------------------------------------------------------------------


def test_cli_uploads_saves_and_deletes_a_200_mib_image(cloud: Cloud, tmp_path: Path) -> None:
    source = tmp_path / "disk.raw"
    saved = tmp_path / "saved.raw"
    try:
        digests = _write_random(source, 200 * MIB, seed=200)
        name = _name("big")
        created = cloud.openstack(
            "image", "create", "--file", str(source), "--disk-format", "raw",
            "--container-format", "bare", name, "-f", "json",
        )  # fmt: skip
        assert created["status"] == "active", created
        image_id = created["id"]
        shown = _show(cloud, image_id)
        assert shown["size"] == digests.size
        assert shown["checksum"] == digests.md5
        # The CLI shows the non-core attributes it does not know under "properties".
        hashes = {**_properties(shown), **shown}
        assert hashes["os_hash_algo"] == "sha512" and hashes["os_hash_value"] == digests.sha512
        assert shown["disk_format"] == "raw" and shown["container_format"] == "bare"
        stored = cloud.data_dir / "images" / "file" / image_id
        assert stored.stat().st_size == digests.size

        cloud.openstack("image", "save", "--file", str(saved), name)
        assert saved.stat().st_size == digests.size
        assert _sha256_of(saved) == digests.sha256

        cloud.openstack("image", "delete", name)
        assert cloud.openstack("image", "show", image_id, ok=False).returncode != 0
        assert image_id not in _ids(cloud)
        assert not stored.exists()
    finally:
        source.unlink(missing_ok=True)
        saved.unlink(missing_ok=True)


def test_cli_properties_tags_and_protection(cloud: Cloud) -> None:
    name = _name("props")
    created = cloud.openstack(
        "image", "create", "--disk-format", "qcow2", "--container-format", "bare", name,
        "-f", "json", no_stdin=True,
    )  # fmt: skip
    assert created["status"] == "queued"
    cloud.openstack(
        "image", "set", "--property", "os_distro=cirros", "--property", "hw_disk_bus=virtio",
        "--tag", "t1", "--tag", "t2", "--min-ram", "64", name,
    )  # fmt: skip
    shown = _show(cloud, name)
    props = _properties(shown)
    assert props.get("os_distro") == "cirros" and props.get("hw_disk_bus") == "virtio", shown
    assert set(shown["tags"]) == {"t1", "t2"}
    assert shown["min_ram"] == 64
    assert created["id"] in _ids(cloud, "--tag", "t1")
    assert created["id"] in _ids(cloud, "--property", "os_distro=cirros")

    cloud.openstack("image", "unset", "--property", "hw_disk_bus", "--tag", "t1", name)
    shown = _show(cloud, name)
    assert "hw_disk_bus" not in _properties(shown) and "hw_disk_bus" not in shown
    assert shown["tags"] == ["t2"]

    cloud.openstack("image", "set", "--protected", name)
    assert cloud.openstack("image", "delete", name, ok=False).returncode != 0
    assert _show(cloud, name)["protected"] is True
    cloud.openstack("image", "set", "--unprotected", name)
    cloud.openstack("image", "delete", name)
    assert cloud.openstack("image", "show", created["id"], ok=False).returncode != 0


def test_cli_sharing_handshake(cloud: Cloud, member: Member, tmp_path: Path) -> None:
    data = tmp_path / "shared.raw"
    _write_random(data, MIB, seed=7)
    name = _name("shared")
    created = cloud.openstack(
        "image", "create", "--file", str(data), "--disk-format", "raw", "--container-format",
        "bare", "--shared", name, "-f", "json",
    )  # fmt: skip
    image_id = created["id"]
    assert created["visibility"] == "shared"
    assert cloud.openstack("image", "show", image_id, env=member.env, ok=False).returncode != 0

    added = cloud.openstack("image", "add", "project", image_id, member.project, "-f", "json")
    assert added["status"] == "pending" and added["member_id"] == member.project_id
    # Pending: the member can see it by id, but it is not in its list yet.
    assert _show(cloud, image_id, member.env)["id"] == image_id
    assert image_id not in _ids(cloud, env=member.env)
    assert image_id in _ids(cloud, "--shared", "--member-status", "pending", env=member.env)

    cloud.openstack("image", "set", "--accept", image_id, env=member.env)
    members = cloud.openstack("image", "member", "list", image_id, "-f", "json")
    assert [(m["Member ID"], m["Status"]) for m in members] == [(member.project_id, "accepted")]
    assert image_id in _ids(cloud, env=member.env)
    saved = tmp_path / "member-copy.raw"
    cloud.openstack("image", "save", "--file", str(saved), image_id, env=member.env)
    assert _sha256_of(saved) == _sha256_of(data)
    # The member may not change what it was given.
    proc = cloud.openstack("image", "set", "--name", "mine", image_id, env=member.env, ok=False)
    assert proc.returncode != 0

    cloud.openstack("image", "remove", "project", image_id, member.project)
    assert cloud.openstack("image", "show", image_id, env=member.env, ok=False).returncode != 0
    cloud.openstack("image", "delete", image_id)


def test_cli_visibility_rules_for_a_non_admin(cloud: Cloud, member: Member) -> None:
    name = _name("public-attempt")
    proc = cloud.openstack(
        "image", "create", "--public", "--disk-format", "raw", "--container-format", "bare",
        name, env=member.env, ok=False, no_stdin=True,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "403" in proc.stderr or "Forbidden" in proc.stderr or "not authorized" in proc.stderr
    assert name not in {row["Name"] for row in cloud.openstack("image", "list", "-f", "json")}

    mine = _name("private")
    created = cloud.openstack(
        "image", "create", "--private", "--disk-format", "raw", "--container-format", "bare",
        mine, "-f", "json", env=member.env, no_stdin=True,
    )  # fmt: skip
    assert created["visibility"] == "private"
    assert cloud.openstack("image", "set", "--public", mine, env=member.env, ok=False).returncode
    assert _show(cloud, created["id"])["visibility"] == "private"
    cloud.openstack("image", "set", "--community", mine, env=member.env)
    assert _show(cloud, created["id"])["visibility"] == "community"
    # An admin may publish it.
    cloud.openstack("image", "set", "--public", created["id"])
    assert created["id"] in _ids(cloud, "--public", env=member.env)
    cloud.openstack("image", "delete", created["id"], env=member.env)


def test_cli_stage_import_and_tasks(cloud: Cloud, tmp_path: Path) -> None:
    source = tmp_path / "staged.raw"
    digests = _write_random(source, 3 * MIB, seed=3)
    info = cloud.openstack("image", "import", "info", "-f", "json")
    assert "glance-direct" in str(info)
    name = _name("staged")
    created = cloud.openstack(
        "image", "create", "--disk-format", "raw", "--container-format", "bare", name,
        "-f", "json", no_stdin=True,
    )  # fmt: skip
    assert created["status"] == "queued"
    cloud.openstack("image", "stage", "--file", str(source), created["id"])
    assert _show(cloud, created["id"])["status"] == "uploading"
    cloud.openstack("image", "import", "--method", "glance-direct", created["id"])
    shown = _wait_active(cloud, created["id"])
    assert shown["checksum"] == digests.md5 and shown["size"] == digests.size
    tasks = cloud.openstack("image", "task", "list", "-f", "json")
    assert any(t["Status"] == "success" for t in tasks), tasks
    cloud.openstack("image", "delete", created["id"])


def _wait_active(cloud: Cloud, image_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    shown = _show(cloud, image_id)
    while shown["status"] != "active" and time.monotonic() < deadline:
        assert shown["status"] in ("uploading", "importing"), shown
        time.sleep(0.2)
        shown = _show(cloud, image_id)
    assert shown["status"] == "active", shown
    return shown


# -- openstacksdk -------------------------------------------------------------------------------


def _connect(cloud: Cloud) -> openstack.connection.Connection:
    return openstack.connect(
        auth=cloud.admin_auth(),
        region_name="RegionOne",
        interface="public",
        identity_api_version="3",
        load_yaml_config=False,
        load_envvars=False,
    )


@pytest.mark.parametrize("use_import", [False, True], ids=["upload", "stage-import"])
def test_sdk_create_and_download(cloud: Cloud, tmp_path: Path, use_import: bool) -> None:
    source = tmp_path / "sdk.raw"
    digests = _write_random(source, 24 * MIB + 5, seed=24 + use_import)
    conn = _connect(cloud)
    try:
        name = _name("sdk")
        image = conn.create_image(
            name,
            filename=str(source),
            disk_format="raw",
            container_format="bare",
            wait=True,
            timeout=300,
            use_import=use_import,
        )
        assert image is not None
        if use_import:
            # create_image(wait=True) stops waiting once the image leaves queued/saving.
            image = conn.image.wait_for_status(
                image, "active", failures=["killed", "queued"], interval=0.2, wait=120
            )
        assert image.status == "active", image
        assert image.checksum == digests.md5
        assert image.size == digests.size
        got = conn.image.get_image(image.id)
        assert got.hash_value == digests.sha512 and got.hash_algo == "sha512"
        if use_import:
            r = conn.image.get(f"/images/{image.id}/tasks")
            statuses = [t["status"] for t in r.json()["tasks"]]
            assert statuses == ["success"], statuses

        out = tmp_path / "download-1.raw"
        with out.open("wb") as fh:
            conn.download_image(name, output_file=fh)
        assert _sha256_of(out) == digests.sha256
        out2 = tmp_path / "download-2.raw"
        conn.image.download_image(got, output=str(out2))
        assert _sha256_of(out2) == digests.sha256
        assert conn.delete_image(image.id, wait=True, timeout=60)
        assert conn.image.find_image(image.id) is None
    finally:
        conn.close()


# -- SIGKILL mid-upload -------------------------------------------------------------------------

CRASH_SIZE = 500 * MIB
CRASH_SEED = 500
ADMIN_PASSWORD = "image-crash-admin-pw"


def _admin_token(client: httpx.Client) -> str:
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
    return r.headers["x-subject-token"]


def _stored_files(data_dir: Path) -> set[str]:
    root = data_dir / "images" / "file"
    partial = {f".partial/{p.name}" for p in (root / ".partial").iterdir()}
    return partial | {p.name for p in root.iterdir() if p.is_file()}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StacklingProcess]:
    """A foreground `stackling up` child; killed and reaped whatever happens."""
    proc = StacklingProcess(
        tmp_path / "data", free_port(), child_env(STACKLING_ADMIN_PASSWORD=ADMIN_PASSWORD)
    )
    try:
        yield proc
    finally:
        proc.kill()
        # Half a GiB of image data is not worth keeping among pytest's old temp dirs.
        shutil.rmtree(proc.data_dir / "images", ignore_errors=True)


def test_sigkill_mid_upload_leaves_nothing_and_the_upload_can_be_retried(
    server: StacklingProcess,
) -> None:
    server.start()
    with httpx.Client(base_url=server.url, timeout=120.0) as client:
        client.headers["X-Auth-Token"] = _admin_token(client)
        r = client.post(
            "/image/v2/images",
            json={"name": "interrupted", "disk_format": "raw", "container_format": "bare"},
        )
        assert r.status_code == 201, r.text
        image_id = r.json()["id"]
        sent = 0
        saw_partial = False

        def body() -> Iterator[bytes]:
            nonlocal sent, saw_partial
            for piece in _random_chunks(CRASH_SIZE, CRASH_SEED):
                if sent >= CRASH_SIZE // 2:
                    # The server is mid-upload: its write is still a partial file.
                    saw_partial = any(
                        f.startswith(".partial/") for f in _stored_files(server.data_dir)
                    )
                    server.kill()
                    return
                sent += len(piece)
                yield piece

        with pytest.raises(httpx.HTTPError):
            r = client.put(
                f"/image/v2/images/{image_id}/file",
                content=body(),
                headers={"Content-Type": "application/octet-stream"},
            )
            pytest.fail(f"the upload finished although the server was killed: {r.status_code}")
        assert server.proc is not None and server.proc.returncode is not None
        assert CRASH_SIZE // 2 <= sent < CRASH_SIZE
        assert saw_partial, "the kill came before the server began writing the upload"

    server.start()
    with httpx.Client(base_url=server.url, timeout=300.0) as client:
        client.headers["X-Auth-Token"] = _admin_token(client)
        shown = client.get(f"/image/v2/images/{image_id}").json()
        assert shown["status"] != "active", shown
        assert shown["status"] == "queued" and shown["size"] is None, shown
        assert _stored_files(server.data_dir) == set()

        r = client.put(
            f"/image/v2/images/{image_id}/file",
            content=_random_chunks(CRASH_SIZE, CRASH_SEED),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 204, r.text
        expected = hashlib.sha256()
        for piece in _random_chunks(CRASH_SIZE, CRASH_SEED):
            expected.update(piece)
        shown = client.get(f"/image/v2/images/{image_id}").json()
        assert shown["status"] == "active" and shown["size"] == CRASH_SIZE, shown
        got = hashlib.sha256()
        with client.stream("GET", f"/image/v2/images/{image_id}/file") as response:
            assert response.status_code == 200
            for piece in response.iter_bytes(CHUNK):
                got.update(piece)
        assert got.hexdigest() == expected.hexdigest()
        assert _stored_files(server.data_dir) == {image_id}

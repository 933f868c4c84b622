"""The object service under real, unmodified clients over real HTTP.

One `stackling up` process (identity and object only) for the module. The
`openstack` CLI manages containers and objects; the `swift` CLI uploads a
100 MiB static large object and sets ACLs and temp URL keys; anonymous httpx
requests go through public-read ACLs and temp URLs; boto3 speaks S3 with EC2
credentials to the same store; rclone syncs a thousand files up and back.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import openstack
import pytest
from botocore.config import Config

from tests.support.cloud import Cloud, detached_cloud
from tests.support.process import run

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

MIB = 1 << 20
SERVICES = '["identity", "object"]'
SWIFT = Path(sys.executable).parent / "swift"


@dataclass
class Account:
    """The admin's object account: where it is and how to get in."""

    project_id: str
    token: str
    storage_url: str
    # OS_* variables for clients that do not read clouds.yaml (swift, rclone).
    env: dict[str, str]
    password: str

    @property
    def path(self) -> str:
        """The storage URL's path, as temp URLs sign it."""
        return httpx.URL(self.storage_url).path


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """One detached cloud serving identity and object storage (its object data removed after)."""
    data_dir = tmp_path_factory.mktemp("object-cloud") / "data"
    try:
        with detached_cloud(data_dir, STACKLING_SERVICES=SERVICES) as c:
            yield c
    finally:
        shutil.rmtree(data_dir / "objects", ignore_errors=True)


@pytest.fixture(scope="module")
def account(cloud: Cloud) -> Account:
    """The admin's token, project and storage URL; an environment for the swift CLI."""
    issued = cloud.openstack("token", "issue", "-f", "json")
    auth = cloud.admin_auth()
    env = cloud.as_user(auth["username"], auth["password"], auth["project_name"])
    # swift and rclone look at OS_* only; the clouds.yaml pointer is openstack's business.
    env.pop("OS_CLIENT_CONFIG_FILE", None)
    project_id = issued["project_id"]
    return Account(
        project_id=project_id,
        token=issued["id"],
        storage_url=f"{cloud.url}/object/v1/AUTH_{project_id}",
        env=env,
        password=auth["password"],
    )


def _swift(account: Account, *args: str, ok: bool = True, timeout: float = 300) -> str:
    """Run the `swift` CLI (python-swiftclient) as the admin; its output."""
    if not SWIFT.is_file():
        pytest.fail(f"the swift CLI is not installed at {SWIFT}; run `make install-test`")
    proc = run([str(SWIFT), *args], env=account.env, timeout=timeout)
    if ok:
        assert proc.returncode == 0, (
            f"swift {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _write_random(path: Path, size: int, seed: int) -> str:
    """`size` pseudo-random bytes into `path`; their sha256."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left > 0:
            piece = rng.randbytes(min(8 * MIB, left))
            left -= len(piece)
            fh.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while piece := fh.read(8 * MIB):
            digest.update(piece)
    return digest.hexdigest()


def _stat_fields(output: str) -> dict[str, str]:
    """`swift stat`'s "Key: value" lines as a dict, keys lower-cased."""
    fields = {}
    for line in output.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


# -- the openstack CLI --------------------------------------------------------------------------


def test_openstack_cli_containers_and_objects(
    cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _name("c1")
    source = tmp_path / "report.bin"
    digest = _write_random(source, 3 * MIB + 17, seed=1)
    # The CLIs name an object after the path they were given: bare names keep it simple.
    monkeypatch.chdir(tmp_path)
    created = cloud.openstack("container", "create", container, "-f", "json")
    assert created[0]["container"] == container
    uploaded = cloud.openstack("object", "create", container, source.name, "-f", "json")
    assert uploaded[0]["object"] == source.name
    assert uploaded[0]["etag"] == hashlib.md5(source.read_bytes()).hexdigest()
    listed = cloud.openstack("object", "list", container, "-f", "json")
    assert [row["Name"] for row in listed] == [source.name]

    saved = tmp_path / "saved.bin"
    cloud.openstack("object", "save", container, source.name, "--file", str(saved))
    assert _sha256_of(saved) == digest

    shown = cloud.openstack("object", "show", container, source.name, "-f", "json")
    assert int(shown["content-length"]) == source.stat().st_size
    assert shown["etag"] == uploaded[0]["etag"]
    holder = cloud.openstack("container", "show", container, "-f", "json")
    assert int(holder["object_count"]) == 1
    assert int(holder["bytes_used"]) == source.stat().st_size

    cloud.openstack("object", "set", "--property", "colour=blue", container, source.name)
    shown = cloud.openstack("object", "show", container, source.name, "-f", "json")
    assert shown["properties"] == {"colour": "blue"}, shown

    # A container with an object in it is not deleted.
    assert cloud.openstack("container", "delete", container, ok=False).returncode != 0
    cloud.openstack("object", "delete", container, source.name)
    assert cloud.openstack("object", "list", container, "-f", "json") == []
    assert cloud.openstack("object", "show", container, source.name, ok=False).returncode != 0
    cloud.openstack("container", "delete", container)
    names = [row["Name"] for row in cloud.openstack("container", "list", "-f", "json")]
    assert container not in names


# -- the swift CLI: a static large object -------------------------------------------------------


def test_swift_cli_uploads_a_100_mib_static_large_object(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _name("c2")
    source = tmp_path / "big.bin"
    digest = _write_random(source, 100 * MIB, seed=100)
    monkeypatch.chdir(tmp_path)
    try:
        _swift(account, "upload", "--segment-size", "10M", "--use-slo", container, "big.bin")
        stat = _stat_fields(_swift(account, "stat", container, "big.bin"))
        assert stat.get("x-static-large-object", "").lower() == "true", stat
        assert int(stat["content length"]) == 100 * MIB, stat
        segments = _swift(account, "list", f"{container}_segments").split()
        assert len(segments) == 10, segments

        out = tmp_path / "downloaded.bin"
        _swift(account, "download", container, "big.bin", "--output", str(out))
        assert out.stat().st_size == 100 * MIB
        assert _sha256_of(out) == digest
        out.unlink()

        _swift(account, "delete", container, "big.bin")
        assert _swift(account, "list", container).split() == []
        # The segments went with the manifest.
        assert _swift(account, "list", f"{container}_segments").split() == []
    finally:
        source.unlink(missing_ok=True)


# -- public read ACLs ---------------------------------------------------------------------------


def test_public_read_acl_serves_anonymous_readers(
    account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _name("c3")
    source = tmp_path / "public.txt"
    source.write_bytes(b"anyone may read this\n" * 1000)
    monkeypatch.chdir(tmp_path)
    _swift(account, "upload", container, "public.txt")
    url = f"{account.storage_url}/{container}"
    with httpx.Client(timeout=30.0) as anonymous:
        assert anonymous.get(f"{url}/public.txt").status_code == 401

        _swift(account, "post", "-r", ".r:*", container)
        r = anonymous.get(f"{url}/public.txt")
        assert r.status_code == 200, r.text
        assert r.content == source.read_bytes()
        # Reading objects is not listing them.
        assert anonymous.get(url).status_code in (401, 403)

        _swift(account, "post", "-r", ".r:*,.rlistings", container)
        r = anonymous.get(url)
        assert r.status_code == 200, r.text
        assert r.text.split() == ["public.txt"]
        # Reading is not writing.
        assert anonymous.put(f"{url}/intruder", content=b"x").status_code in (401, 403)

        _swift(account, "post", "-r", "", container)
        assert anonymous.get(f"{url}/public.txt").status_code == 401
    _swift(account, "delete", container)


# -- temp URLs ----------------------------------------------------------------------------------


def _sdk(cloud: Cloud) -> openstack.connection.Connection:
    return openstack.connect(
        auth=cloud.admin_auth(),
        region_name="RegionOne",
        interface="public",
        identity_api_version="3",
        load_yaml_config=False,
        load_envvars=False,
    )


def test_temp_urls_grant_one_object_until_they_expire(
    cloud: Cloud, account: Account, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = _name("tmp")
    source = tmp_path / "obj"
    source.write_bytes(os.urandom(64 * 1024))
    monkeypatch.chdir(tmp_path)
    _swift(account, "upload", container, "obj")
    _swift(account, "upload", container, "obj", "--object-name", "other")
    _swift(account, "post", "-m", "Temp-URL-Key:secret")
    # The path the swift CLI signs is the one in the storage URL, /object prefix included.
    path = f"{account.path}/{container}/obj"
    signed = _swift(account, "tempurl", "GET", "60", path, "secret").strip()
    assert signed.startswith(path + "?"), signed
    with httpx.Client(base_url=cloud.url, timeout=30.0) as anonymous:
        r = anonymous.get(signed)
        assert r.status_code == 200, r.text
        assert r.content == source.read_bytes()
        assert anonymous.head(signed).status_code == 200
        # The signature is for this object and this method only.
        assert anonymous.get(signed.replace("/obj?", "/other?")).status_code == 401
        assert anonymous.delete(signed).status_code == 401
        assert anonymous.get(signed.replace("temp_url_sig=", "temp_url_sig=0")).status_code == 401

        short = _swift(account, "tempurl", "GET", "2", path, "secret").strip()
        assert anonymous.get(short).status_code == 200
        time.sleep(3)
        assert anonymous.get(short).status_code == 401

        # A PUT temp URL writes that one object.
        put_url = _swift(
            account, "tempurl", "PUT", "60", f"{account.path}/{container}/new", "secret"
        )
        r = anonymous.put(put_url.strip(), content=b"uploaded through a temp URL")
        assert r.status_code == 201, r.text
    assert _swift(account, "download", container, "new", "-o", "-") == (
        "uploaded through a temp URL"
    )

    # openstacksdk signs the path it is given: here Swift's own /v1/... form.
    conn = _sdk(cloud)
    try:
        sdk_path = f"/v1/AUTH_{account.project_id}/{container}/obj"
        sdk_signed = conn.object_store.generate_temp_url(sdk_path, 60, "GET", temp_url_key="secret")
        assert isinstance(sdk_signed, str)
        r = httpx.get(f"{cloud.url}/object{sdk_signed}", timeout=30.0)
        assert r.status_code == 200, r.text
        assert r.content == source.read_bytes()
    finally:
        conn.close()
    _swift(account, "post", "-m", "Temp-URL-Key:")
    with httpx.Client(base_url=cloud.url, timeout=30.0) as anonymous:
        assert anonymous.get(signed).status_code == 401
    _swift(account, "delete", container)


# -- S3 through boto3 ---------------------------------------------------------------------------


def _s3(cloud: Cloud) -> Any:
    """A boto3 S3 client on EC2 credentials made with `openstack ec2 credentials create`."""
    cred = cloud.openstack("ec2", "credentials", "create", "-f", "json")
    return boto3.client(
        "s3",
        endpoint_url=f"{cloud.url}/s3",
        aws_access_key_id=cred["access"],
        aws_secret_access_key=cred["secret"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def test_boto3_buckets_objects_multipart_and_presigned(
    cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = _s3(cloud)
    bucket = _name("bkt")
    s3.create_bucket(Bucket=bucket)
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    body = os.urandom(300 * 1024)
    put = s3.put_object(Bucket=bucket, Key="dir/small.bin", Body=body, Metadata={"k": "v"})
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/small.bin")
    assert got["Body"].read() == body
    assert got["Metadata"] == {"k": "v"}
    ranged = s3.get_object(Bucket=bucket, Key="dir/small.bin", Range="bytes=10-19")
    assert ranged["Body"].read() == body[10:20]

    parts = [random.Random(i).randbytes(5 * MIB) for i in range(3)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="multi.bin")
    done = []
    for number, data in enumerate(parts, start=1):
        r = s3.upload_part(
            Bucket=bucket,
            Key="multi.bin",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data,
        )
        done.append({"PartNumber": number, "ETag": r["ETag"]})
    completed = s3.complete_multipart_upload(
        Bucket=bucket, Key="multi.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )
    part_md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert completed["ETag"] == f'"{hashlib.md5(part_md5s).hexdigest()}-3"'
    whole = s3.get_object(Bucket=bucket, Key="multi.bin")["Body"].read()
    assert hashlib.sha256(whole).digest() == hashlib.sha256(b"".join(parts)).digest()

    listed = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["dir/small.bin", "multi.bin"]
    assert [o["Size"] for o in listed["Contents"]] == [len(body), 15 * MIB]

    presigned = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "dir/small.bin"}, ExpiresIn=60
    )
    r = httpx.get(presigned, timeout=30.0)
    assert r.status_code == 200, r.text
    assert r.content == body
    assert (
        httpx.get(presigned.replace("Signature=", "Signature=0"), timeout=30.0).status_code == 403
    )

    # The same store through Swift: the bucket is a container, its keys are objects.
    names = [row["Name"] for row in cloud.openstack("object", "list", bucket, "-f", "json")]
    assert names == ["dir/small.bin", "multi.bin"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "from-swift.txt").write_bytes(b"written by the openstack CLI\n")
    cloud.openstack("object", "create", bucket, "from-swift.txt")
    read = s3.get_object(Bucket=bucket, Key="from-swift.txt")["Body"].read()
    assert read == b"written by the openstack CLI\n"

    for key in ("dir/small.bin", "multi.bin", "from-swift.txt"):
        s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


# -- rclone's swift backend ---------------------------------------------------------------------


def _rclone(account: Account, cloud: Cloud, config: Path, *args: str) -> str:
    rclone = shutil.which("rclone")
    if rclone is None:
        pytest.fail("rclone is not installed; run `make install-test`")
    env = {
        **account.env,
        "RCLONE_CONFIG_STK_TYPE": "swift",
        "RCLONE_CONFIG_STK_ENV_AUTH": "false",
        "RCLONE_CONFIG_STK_AUTH": cloud.auth_url,
        "RCLONE_CONFIG_STK_USER": account.env["OS_USERNAME"],
        "RCLONE_CONFIG_STK_KEY": account.password,
        "RCLONE_CONFIG_STK_TENANT": account.env["OS_PROJECT_NAME"],
        "RCLONE_CONFIG_STK_DOMAIN": "Default",
        "RCLONE_CONFIG_STK_TENANT_DOMAIN": "Default",
        "RCLONE_CONFIG_STK_REGION": "RegionOne",
        "RCLONE_CONFIG_STK_AUTH_VERSION": "3",
    }
    argv = [rclone, "--config", str(config), "--transfers", "16", "--checkers", "16", *args]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"rclone {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_rclone_syncs_a_thousand_files_up_and_back(
    cloud: Cloud, account: Account, tmp_path: Path
) -> None:
    container = _name("c4")
    config = tmp_path / "rclone.conf"
    config.write_text("")
    up = tmp_path / "up"
    rng = random.Random(1000)
    files: dict[str, bytes] = {}
    for i in range(1000):
        rel = f"d{i % 10}/f{i:04d}.bin"
        data = rng.randbytes(rng.randint(0, 8192))
        (up / rel).parent.mkdir(parents=True, exist_ok=True)
        (up / rel).write_bytes(data)
        files[rel] = data

    _rclone(account, cloud, config, "sync", str(up), f"stk:{container}")
    listed = _swift(account, "list", container).split()
    assert sorted(listed) == sorted(files)
    _rclone(account, cloud, config, "check", str(up), f"stk:{container}")

    down = tmp_path / "down"
    _rclone(account, cloud, config, "sync", f"stk:{container}", str(down))
    got = {str(p.relative_to(down)): p.read_bytes() for p in down.rglob("*") if p.is_file()}
    assert sorted(got) == sorted(files)
    differing = [rel for rel, data in files.items() if got[rel] != data]
    assert not differing, f"{len(differing)} files differ, e.g. {differing[:5]}"

    # A second sync after a local change uploads the change and removes what went away.
    (up / "d0/f0000.bin").write_bytes(b"changed")
    (up / "d1/f0001.bin").unlink()
    _rclone(account, cloud, config, "sync", str(up), f"stk:{container}")
    _rclone(account, cloud, config, "check", str(up), f"stk:{container}")
    listed = _swift(account, "list", container).split()
    assert "d1/f0001.bin" not in listed and len(listed) == 999
    _rclone(account, cloud, config, "purge", f"stk:{container}")
    assert container not in _swift(account, "list").split()

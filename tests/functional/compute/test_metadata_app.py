"""The metadata HTTP app as the proxy and guests see it, in-process through httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from stackling.compute.metadata.app import build_metadata_app
from stackling.compute.metadata.signing import sign_instance_id
from stackling.compute.metadata.source import InstanceMetadataSource
from tests.unit.compute.metadata.sources import (
    BINARY_USER_DATA,
    PROJECT,
    PUBLIC_KEY,
    UUID,
    make_source,
)

SECRET = b"proxy-shared-secret"
OTHER_UUID = "0f0f0f0f-1111-4222-8333-444444444444"
OTHER_PROJECT = "aaaabbbbccccddddeeeeffff00001111"


class InMemoryBackend:
    """A MetadataBackend over a dict, keeping passwords the way the real one must."""

    def __init__(self, *sources: InstanceMetadataSource) -> None:
        self.shared_secret = SECRET
        self.sources = {s.uuid: s for s in sources}
        self.fail = False

    async def source_for(self, instance_id: str) -> InstanceMetadataSource | None:
        if self.fail:
            raise RuntimeError("database is down")
        return self.sources.get(instance_id)

    async def set_password(self, instance_id: str, password: str) -> bool:
        source = self.sources[instance_id]
        if source.password:
            return False
        self.sources[instance_id] = replace(source, password=password)
        return True


@pytest.fixture
def backend() -> InMemoryBackend:
    return InMemoryBackend(
        make_source(user_data=BINARY_USER_DATA, admin_pass="never-served"),
        make_source(uuid=OTHER_UUID, project_id=OTHER_PROJECT, user_data=None),
    )


@pytest.fixture
async def client(backend: InMemoryBackend) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_metadata_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://169.254.169.254") as c:
        yield c


def proxy_headers(
    instance_id: str = UUID, project: str = PROJECT, signed: str | None = None
) -> dict[str, str]:
    """What the metadata proxy adds for a guest: its id, signed, and its project."""
    return {
        "X-Instance-ID": instance_id,
        "X-Tenant-ID": project,
        "X-Instance-ID-Signature": sign_instance_id(SECRET, signed or instance_id),
    }


async def get(client: httpx.AsyncClient, path: str, **kw: str) -> httpx.Response:
    return await client.get(path, headers=proxy_headers(**kw))


async def test_root_lists_ec2_versions_to_anyone(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.split("\n")[0] == "1.0"
    assert r.text.split("\n")[-2:] == ["2009-04-04", "latest"]


async def test_openstack_listings(client: httpx.AsyncClient) -> None:
    r = await get(client, "/openstack")
    assert r.status_code == 200
    assert r.text.split("\n")[0] == "2012-08-10"
    assert r.text.endswith("\nlatest")
    r = await get(client, "/openstack/latest/")
    assert r.text.split("\n") == [
        "meta_data.json",
        "user_data",
        "password",
        "vendor_data.json",
        "network_data.json",
        "vendor_data2.json",
    ]


async def test_meta_data_json(client: httpx.AsyncClient) -> None:
    r = await get(client, "/openstack/latest/meta_data.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["uuid"] == UUID
    assert data["project_id"] == PROJECT
    assert data["public_keys"] == {"mykey": PUBLIC_KEY}
    # The admin password goes on a config drive only.
    assert "admin_pass" not in data
    network = (await get(client, "/openstack/2015-10-15/network_data.json")).json()
    assert network["networks"][0]["type"] == "ipv4_dhcp"


async def test_user_data(client: httpx.AsyncClient) -> None:
    r = await get(client, "/openstack/latest/user_data")
    assert r.status_code == 200
    assert r.content == BINARY_USER_DATA
    assert r.headers["content-type"] == "application/octet-stream"
    assert (await get(client, "/latest/user-data")).content == BINARY_USER_DATA
    absent = await get(
        client, "/openstack/latest/user_data", instance_id=OTHER_UUID, project=OTHER_PROJECT
    )
    assert absent.status_code == 404


async def test_ec2_tree(client: httpx.AsyncClient) -> None:
    r = await get(client, "/2009-04-04/meta-data/")
    assert r.status_code == 200
    assert "public-keys/" in r.text.split("\n")
    assert (await get(client, "/latest/meta-data/public-keys/")).text == "0=mykey"
    key = await get(client, "/2009-04-04/meta-data/public-keys/0/openssh-key")
    assert key.text == PUBLIC_KEY
    assert (await get(client, "/ec2/latest/meta-data/instance-id")).text == "i-0000002a"


@pytest.mark.parametrize(
    "path",
    [
        "/nothing",
        "/latest/meta-data/nothing",
        "/openstack/latest/nothing",
        "/openstack/2099-01-01/meta_data.json",
        "/openstack/2012-08-10/password",
    ],
)
async def test_unknown_paths_are_404_in_novas_html(client: httpx.AsyncClient, path: str) -> None:
    r = await get(client, path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<title>404 Not Found</title>" in r.text
    assert "The resource could not be found." in r.text


async def test_error_as_plain_text_when_html_is_not_wanted(client: httpx.AsyncClient) -> None:
    headers = {**proxy_headers(), "Accept": "text/plain"}
    r = await client.get("/nothing", headers=headers)
    assert r.status_code == 404
    assert r.text.startswith("404 Not Found\n\nThe resource could not be found.")


async def test_missing_signature_is_forbidden(client: httpx.AsyncClient) -> None:
    headers = proxy_headers()
    del headers["X-Instance-ID-Signature"]
    r = await client.get("/openstack/latest/meta_data.json", headers=headers)
    assert r.status_code == 403
    assert UUID not in r.text


@pytest.mark.parametrize("missing", ["X-Instance-ID", "X-Tenant-ID"])
async def test_missing_identity_headers_are_bad_requests(
    client: httpx.AsyncClient, missing: str
) -> None:
    headers = proxy_headers()
    del headers[missing]
    r = await client.get("/openstack/latest/meta_data.json", headers=headers)
    assert r.status_code == 400
    assert f"{missing} header is missing" in r.text


async def test_bad_signature_is_forbidden(client: httpx.AsyncClient) -> None:
    headers = {**proxy_headers(), "X-Instance-ID-Signature": "0" * 64}
    r = await client.get("/openstack/latest/meta_data.json", headers=headers)
    assert r.status_code == 403
    assert "Invalid proxy request signature." in r.text


async def test_signature_of_another_instance_is_forbidden(client: httpx.AsyncClient) -> None:
    # A valid signature, but for a different instance than the one named.
    r = await get(
        client,
        "/openstack/latest/meta_data.json",
        instance_id=OTHER_UUID,
        project=OTHER_PROJECT,
        signed=UUID,
    )
    assert r.status_code == 403
    assert OTHER_UUID not in r.text and UUID not in r.text


async def test_signature_from_another_secret_is_forbidden(client: httpx.AsyncClient) -> None:
    headers = {
        **proxy_headers(),
        "X-Instance-ID-Signature": sign_instance_id(b"guessed", UUID),
    }
    r = await client.get("/openstack/latest/meta_data.json", headers=headers)
    assert r.status_code == 403


async def test_each_instance_sees_only_itself(client: httpx.AsyncClient) -> None:
    mine = await get(client, "/openstack/latest/meta_data.json")
    theirs = await get(
        client, "/openstack/latest/meta_data.json", instance_id=OTHER_UUID, project=OTHER_PROJECT
    )
    assert mine.json()["uuid"] == UUID
    assert theirs.json()["uuid"] == OTHER_UUID


async def test_unknown_instance_is_404(client: httpx.AsyncClient) -> None:
    ghost = "99999999-9999-4999-8999-999999999999"
    r = await get(client, "/openstack/latest/meta_data.json", instance_id=ghost)
    assert r.status_code == 404


async def test_project_mismatch_is_forbidden(client: httpx.AsyncClient) -> None:
    r = await get(client, "/openstack/latest/meta_data.json", project=OTHER_PROJECT)
    assert r.status_code == 403


async def test_backend_failure_is_a_500_without_details(
    client: httpx.AsyncClient, backend: InMemoryBackend
) -> None:
    backend.fail = True
    r = await get(client, "/openstack/latest/meta_data.json")
    assert r.status_code == 500
    assert "database" not in r.text


async def test_password_set_once(client: httpx.AsyncClient, backend: InMemoryBackend) -> None:
    path = "/openstack/latest/password"
    assert (await get(client, path)).text == ""

    encrypted = "dGhlIGVuY3J5cHRlZCBwYXNzd29yZA=="
    r = await client.post(path, content=encrypted, headers=proxy_headers())
    assert r.status_code == 200
    assert backend.sources[UUID].password == encrypted
    assert (await get(client, "/openstack/2013-04-04/password")).text == encrypted

    again = await client.post(path, content="other", headers=proxy_headers())
    assert again.status_code == 409
    assert (await get(client, path)).text == encrypted


async def test_password_conflict_reported_by_backend(
    client: httpx.AsyncClient, backend: InMemoryBackend
) -> None:
    # Another request set it after this one read the snapshot: the backend says no.
    async def already_set(instance_id: str, password: str) -> bool:
        return False

    backend.set_password = already_set  # type: ignore[method-assign]
    r = await client.post("/openstack/latest/password", content="x", headers=proxy_headers())
    assert r.status_code == 409


async def test_password_too_large(client: httpx.AsyncClient, backend: InMemoryBackend) -> None:
    r = await client.post("/openstack/latest/password", content="x" * 1021, headers=proxy_headers())
    assert r.status_code == 400
    assert "too large" in r.text
    assert backend.sources[UUID].password is None
    ok = await client.post(
        "/openstack/latest/password", content="x" * 1020, headers=proxy_headers()
    )
    assert ok.status_code == 200


async def test_password_post_needs_the_signature(
    client: httpx.AsyncClient, backend: InMemoryBackend
) -> None:
    headers = {**proxy_headers(), "X-Instance-ID-Signature": "bad"}
    r = await client.post("/openstack/latest/password", content="x", headers=headers)
    assert r.status_code == 403
    assert backend.sources[UUID].password is None


async def test_empty_password_post_sets_nothing(
    client: httpx.AsyncClient, backend: InMemoryBackend
) -> None:
    r = await client.post("/openstack/latest/password", content=b"", headers=proxy_headers())
    assert r.status_code == 200
    assert backend.sources[UUID].password is None


@pytest.mark.parametrize(
    "path", ["/openstack/latest/meta_data.json", "/openstack/2012-08-10/password", "/latest/"]
)
async def test_post_elsewhere_is_not_allowed(
    client: httpx.AsyncClient, backend: InMemoryBackend, path: str
) -> None:
    r = await client.post(path, content="x", headers=proxy_headers())
    assert r.status_code == 405
    assert backend.sources[UUID].password is None


async def test_listing_body_is_exact_text(client: httpx.AsyncClient) -> None:
    r = await get(client, "/latest/meta-data/placement/")
    assert r.content == b"availability-zone"
    r = await get(client, "/latest/meta-data/block-device-mapping")
    assert r.content == b"ami\nroot"


async def test_json_is_json(client: httpx.AsyncClient) -> None:
    r = await get(client, "/openstack/latest/vendor_data2.json")
    assert json.loads(r.content) == {"static": {}}


async def test_password_too_large_without_a_declared_length(
    client: httpx.AsyncClient, backend: InMemoryBackend
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"y" * 400

    r = await client.post("/openstack/latest/password", content=chunks(), headers=proxy_headers())
    assert r.status_code == 400
    assert backend.sources[UUID].password is None


async def test_password_shown_in_the_snapshot_refuses_without_asking_the_backend(
    client: httpx.AsyncClient, backend: InMemoryBackend
) -> None:
    calls: list[str] = []

    async def record(instance_id: str, password: str) -> bool:
        calls.append(password)
        return True

    backend.sources[UUID] = replace(backend.sources[UUID], password="already")
    backend.set_password = record  # type: ignore[method-assign]
    r = await client.post("/openstack/latest/password", content="x", headers=proxy_headers())
    assert r.status_code == 409
    assert calls == []


async def test_two_instance_id_headers_are_a_bad_request(client: httpx.AsyncClient) -> None:
    # Signed for the first, smuggling a second: which one is meant is ambiguous.
    headers = [*proxy_headers().items(), ("X-Instance-ID", OTHER_UUID)]
    r = await client.get("/openstack/latest/meta_data.json", headers=headers)
    assert r.status_code == 400
    assert "Multiple X-Instance-ID headers" in r.text

"""Key pairs through the Nova API: import, generation, fingerprints, quota, per-user isolation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID

from tests.support.identity import project_member
from tests.support.servers import V21, assert_nova_fault, mv


def ssh_public_key() -> str:
    """A fresh OpenSSH public key line."""
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return line.decode() + " someone@example"


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1]), usedforsecurity=False)
    hexed = digest.hexdigest()
    return ":".join(hexed[i : i + 2] for i in range(0, 32, 2))


def certificate() -> tuple[str, str]:
    """A self-signed PEM certificate and its sha1 fingerprint as Nova writes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tester")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    fingerprint = ":".join(f"{b:02x}" for b in cert.fingerprint(hashes.SHA1()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), fingerprint


async def _create(
    c: httpx.AsyncClient, version: str = "2.1", token: str | None = None, **fields: Any
) -> httpx.Response:
    body = {"keypair": {"name": "kp", **fields}}
    return await c.post(f"{V21}/os-keypairs", json=body, headers=mv(version, token))


async def test_import_list_show_delete_before_2_2(admin: httpx.AsyncClient) -> None:
    public = ssh_public_key()
    r = await _create(admin, "2.1", public_key=public)
    assert r.status_code == 200, r.text
    made = r.json()["keypair"]
    assert set(made) == {"name", "public_key", "fingerprint", "user_id"}
    assert made["fingerprint"] == md5_fingerprint(public)
    r = await admin.get(f"{V21}/os-keypairs", headers=mv("2.1"))
    assert r.json() == {
        "keypairs": [
            {"keypair": {"name": "kp", "public_key": public, "fingerprint": made["fingerprint"]}}
        ]
    }
    shown = (await admin.get(f"{V21}/os-keypairs/kp", headers=mv("2.1"))).json()["keypair"]
    assert shown["user_id"] == made["user_id"] and shown["deleted"] is False
    assert isinstance(shown["id"], int) and shown["created_at"] and shown["deleted_at"] is None
    assert "type" not in shown
    r = await admin.delete(f"{V21}/os-keypairs/kp", headers=mv("2.1"))
    assert r.status_code == 202
    fault = assert_nova_fault(await admin.get(f"{V21}/os-keypairs/kp"), 404, "itemNotFound")
    assert fault["message"] == f"Keypair kp not found for user {made['user_id']}"
    assert_nova_fault(await admin.delete(f"{V21}/os-keypairs/kp"), 404)


async def test_types_and_status_codes_from_2_2(admin: httpx.AsyncClient) -> None:
    pem, fingerprint = certificate()
    r = await _create(admin, "2.2", name="cert", type="x509", public_key=pem)
    assert r.status_code == 201, r.text
    assert r.json()["keypair"]["type"] == "x509"
    assert r.json()["keypair"]["fingerprint"] == fingerprint
    r = await _create(admin, "2.2", name="ssh", public_key=ssh_public_key())
    assert r.status_code == 201 and r.json()["keypair"]["type"] == "ssh"
    listed = (await admin.get(f"{V21}/os-keypairs", headers=mv("2.2"))).json()["keypairs"]
    assert {k["keypair"]["name"]: k["keypair"]["type"] for k in listed} == {
        "cert": "x509",
        "ssh": "ssh",
    }
    assert (await admin.get(f"{V21}/os-keypairs/cert", headers=mv("2.2"))).json()["keypair"][
        "type"
    ] == "x509"
    assert (await admin.delete(f"{V21}/os-keypairs/cert", headers=mv("2.2"))).status_code == 204
    r = await _create(admin, "2.1", name="typed", type="ssh", public_key=ssh_public_key())
    assert_nova_fault(r, 400)


async def test_generated_keys_until_2_92(admin: httpx.AsyncClient) -> None:
    r = await _create(admin, "2.91", name="made-for-me")
    assert r.status_code == 201, r.text
    made = r.json()["keypair"]
    private = serialization.load_pem_private_key(made["private_key"].encode(), password=None)
    derived = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert made["public_key"].startswith(derived.decode())
    assert made["fingerprint"] == md5_fingerprint(made["public_key"])
    r = await _create(admin, "2.91", name="cert-for-me", type="x509")
    assert r.status_code == 201, r.text
    cert = x509.load_pem_x509_certificate(r.json()["keypair"]["public_key"].encode())
    assert r.json()["keypair"]["fingerprint"] == ":".join(
        f"{b:02x}" for b in cert.fingerprint(hashes.SHA1())
    )
    assert "private_key" in r.json()["keypair"]
    assert_nova_fault(await _create(admin, "2.92", name="nothing-given"), 400)


async def test_name_rules_change_at_2_92(admin: httpx.AsyncClient) -> None:
    public = ssh_public_key()
    fault = assert_nova_fault(
        await _create(admin, "2.91", name="me@host.x", public_key=public), 400
    )
    assert fault["message"] == "Keypair data is invalid: Keypair name contains unsafe characters"
    r = await _create(admin, "2.92", name="me@host.x", public_key=public)
    assert r.status_code == 201, r.text
    assert_nova_fault(await _create(admin, "2.92", name="semi;colon", public_key=public), 400)


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "x" * 256},
        {"name": " padded"},
        {"name": 5},
        {"public_key": "ssh-rsa not-base64"},
        {"public_key": "garbage"},
        {"public_key": 12},
        {"type": "gpg"},
        {
            "type": "x509",
            "public_key": "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----",
        },
        {"colour": "blue"},
    ],
)
async def test_create_refuses_bad_bodies(admin: httpx.AsyncClient, fields: dict[str, Any]) -> None:
    fault = assert_nova_fault(await _create(admin, "2.10", **fields), 400, "badRequest")
    if fields.get("public_key") in ("garbage", "ssh-rsa not-base64"):
        assert fault["message"].startswith("Keypair data is invalid")


async def test_create_without_keypair_object(admin: httpx.AsyncClient) -> None:
    assert_nova_fault(await admin.post(f"{V21}/os-keypairs", json={"name": "x"}), 400)
    assert_nova_fault(await admin.post(f"{V21}/os-keypairs", json={"keypair": "x"}), 400)


async def test_duplicate_names_conflict(admin: httpx.AsyncClient) -> None:
    assert (await _create(admin, public_key=ssh_public_key())).status_code == 200
    fault = assert_nova_fault(await _create(admin, public_key=ssh_public_key()), 409)
    assert fault["message"] == "Key pair 'kp' already exists."


async def test_key_pair_quota(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.put(
        f"{V21}/os-quota-sets/{project['id']}", json={"quota_set": {"key_pairs": 1}}
    )
    assert r.status_code == 200, r.text
    assert (await _create(admin, token=token, public_key=ssh_public_key())).status_code == 200
    r = await _create(admin, token=token, name="second", public_key=ssh_public_key())
    fault = assert_nova_fault(r, 403, "forbidden")
    assert fault["message"] == "Quota exceeded, too many key pairs."
    # The quota counts key pairs per user: another user of the project still has room.
    _, _, other = await project_member(admin, project_id=project["id"])
    r = await _create(admin, token=other, name="second", public_key=ssh_public_key())
    assert r.status_code == 200, r.text


async def test_key_pairs_are_per_user(admin: httpx.AsyncClient) -> None:
    _, user_a, token_a = await project_member(admin)
    _, _, token_b = await project_member(admin)
    assert (await _create(admin, token=token_a, public_key=ssh_public_key())).status_code == 200
    assert_nova_fault(await admin.get(f"{V21}/os-keypairs/kp", headers=mv("2.1", token_b)), 404)
    assert_nova_fault(await admin.delete(f"{V21}/os-keypairs/kp", headers=mv("2.1", token_b)), 404)
    r = await admin.get(f"{V21}/os-keypairs", headers=mv("2.1", token_b))
    assert r.json() == {"keypairs": []}
    # Another user's key pairs are the admin's business only (2.10).
    params = {"user_id": user_a["id"]}
    r = await admin.get(f"{V21}/os-keypairs", params=params, headers=mv("2.10", token_b))
    assert_nova_fault(r, 403, "forbidden")
    r = await admin.get(f"{V21}/os-keypairs", params=params, headers=mv("2.10"))
    assert [k["keypair"]["name"] for k in r.json()["keypairs"]] == ["kp"]
    r = await admin.get(f"{V21}/os-keypairs/kp", params=params, headers=mv("2.10"))
    assert r.status_code == 200 and r.json()["keypair"]["user_id"] == user_a["id"]
    # Before 2.10 the parameter means nothing: the admin sees its own (none).
    r = await admin.get(f"{V21}/os-keypairs", params=params, headers=mv("2.9"))
    assert r.json() == {"keypairs": []}
    r = await _create(admin, "2.10", token=token_b, name="for-a", public_key=ssh_public_key(),
                      user_id=user_a["id"])  # fmt: skip
    assert_nova_fault(r, 403)
    r = await _create(
        admin, "2.10", name="for-a", public_key=ssh_public_key(), user_id=user_a["id"]
    )
    assert r.status_code == 201 and r.json()["keypair"]["user_id"] == user_a["id"]
    r = await admin.delete(f"{V21}/os-keypairs/for-a", params=params, headers=mv("2.10"))
    assert r.status_code == 204
    assert (await admin.get(f"{V21}/os-keypairs/kp", headers=mv("2.1", token_a))).status_code == 200


async def test_pages_from_2_35(admin: httpx.AsyncClient) -> None:
    for name in ("c", "a", "b"):
        assert (
            await _create(admin, "2.35", name=name, public_key=ssh_public_key())
        ).status_code == 201
    r = await admin.get(f"{V21}/os-keypairs", params={"limit": 2}, headers=mv("2.35"))
    page = r.json()
    assert [k["keypair"]["name"] for k in page["keypairs"]] == ["a", "b"]
    href = page["keypairs_links"][0]["href"]
    assert "marker=b" in href and "limit=2" in href
    r = await admin.get(
        f"{V21}/os-keypairs", params={"limit": 2, "marker": "b"}, headers=mv("2.35")
    )
    assert [k["keypair"]["name"] for k in r.json()["keypairs"]] == ["c"]
    assert "keypairs_links" not in r.json()
    r = await admin.get(f"{V21}/os-keypairs", params={"marker": "zz"}, headers=mv("2.35"))
    assert_nova_fault(r, 400)
    r = await admin.get(f"{V21}/os-keypairs", params={"limit": "x"}, headers=mv("2.35"))
    assert_nova_fault(r, 400)
    r = await admin.get(f"{V21}/os-keypairs", params={"limit": 1}, headers=mv("2.34"))
    assert len(r.json()["keypairs"]) == 3 and "keypairs_links" not in r.json()
    r = await admin.get(f"{V21}/os-keypairs", params={"sort": "x"}, headers=mv("2.75"))
    assert_nova_fault(r, 400)

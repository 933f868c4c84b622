"""Container and account quotas: who may set them, and 413 once a write would pass them."""

from __future__ import annotations

import httpx

from tests.conftest import issue_token
from tests.support.identity import grant


async def _as_reseller(swift: httpx.AsyncClient) -> None:
    """Give the admin ResellerAdmin on its project, and a token that carries it."""
    account_url, swift.base_url = swift.base_url, httpx.URL("http://testserver")
    try:
        token = swift.headers["X-Auth-Token"]
        r = await swift.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": token})
        body = r.json()["token"]
        await grant(swift, "ResellerAdmin", user=body["user"]["id"], project=body["project"]["id"])
        swift.headers["X-Auth-Token"] = await issue_token(swift)
    finally:
        swift.base_url = account_url


async def test_container_quotas_refuse_writes_past_bytes_and_count(
    swift: httpx.AsyncClient,
) -> None:
    headers = {"X-Container-Meta-Quota-Bytes": "10", "X-Container-Meta-Quota-Count": "2"}
    assert (await swift.put("q", headers=headers)).status_code == 201
    assert (await swift.put("q/a", content=b"12345")).status_code == 201
    assert (await swift.put("q/b", content=b"123456")).status_code == 413
    assert (await swift.put("q/b", content=b"12345")).status_code == 201
    # Overwriting an existing object does not add to the count. (Bytes are checked as
    # Swift checks them: used + new, whatever the overwrite frees.)
    assert (await swift.put("q/b", content=b"")).status_code == 201
    assert (await swift.put("q/c", content=b"")).status_code == 413
    r = await swift.head("q")
    assert r.headers["x-container-object-count"] == "2"
    assert (await swift.post("q", headers={"X-Container-Meta-Quota-Count": "x"})).status_code == 400


async def test_account_quotas_are_set_by_reseller_admins_only(swift: httpx.AsyncClient) -> None:
    r = await swift.post("", headers={"X-Account-Quota-Count": "1"})
    assert r.status_code == 403
    r = await swift.post("", headers={"X-Account-Meta-Quota-Bytes": "100"})
    assert r.status_code == 403
    await _as_reseller(swift)
    r = await swift.get(
        "/identity/v3/auth/tokens", headers={"X-Subject-Token": swift.headers["X-Auth-Token"]}
    )
    assert (await swift.post("", headers={"X-Account-Quota-Count": "1"})).status_code == 204
    assert (await swift.post("", headers={"X-Account-Meta-Quota-Bytes": "8"})).status_code == 204
    r = await swift.head("")
    assert r.headers["x-account-quota-count"] == "1"
    assert (await swift.put("c")).status_code == 201
    assert (await swift.put("c/one", content=b"1234")).status_code == 201
    assert (await swift.put("c/two", content=b"")).status_code == 413
    assert (await swift.put("c/one", content=b"123456789")).status_code == 413
    assert (await swift.post("", headers={"X-Remove-Account-Quota-Count": "x"})).status_code == 204
    assert (await swift.put("c/two", content=b"1234")).status_code == 201
    assert (await swift.put("c/three", content=b"1")).status_code == 413
    r = await swift.head("")
    assert r.headers["x-account-object-count"] == "2"
    assert (await swift.post("", headers={"X-Account-Quota-Bytes": "-1"})).status_code == 400

"""The revocation index: what each event kind revokes, and that it scales flat."""

from __future__ import annotations

import time

from stackling.identity.revocation import Event, RevocationIndex
from stackling.identity.tokens import Ref, TokenData


def _token(issued_at: float, **kw: object) -> TokenData:
    data = TokenData(
        user=Ref("u1", "alice"),
        user_domain=Ref("d1", "Dom"),
        methods=["password"],
        issued_at=issued_at,
        expires_at=issued_at + 3600,
        audit_ids=["audit-1", "chain-1"],
        project=Ref("p1", "demo"),
        project_domain=Ref("d1", "Dom"),
        roles=[Ref("r1", "member")],
    )
    for k, v in kw.items():
        setattr(data, k, v)
    return data


def test_each_kind_revokes_only_its_tokens() -> None:
    t = 1000.0
    cases = [
        (Event("audit", "audit-1", t), True),
        (Event("audit", "chain-1", t), True),
        (Event("audit", "other", t), False),
        (Event("user", "u1", t), True),
        (Event("user", "u2", t), False),
        (Event("project", "p1", t), True),
        (Event("user_project", "u1:p1", t), True),
        (Event("user_project", "u1:p2", t), False),
        (Event("domain", "d1", t), True),
        (Event("role", "r1", t), True),
        (Event("role", "r9", t), False),
    ]
    for event, revoked in cases:
        index = RevocationIndex()
        index.add([event])
        assert index.is_revoked(_token(t - 1)) is revoked, event


def test_tokens_issued_after_the_event_stay_valid() -> None:
    index = RevocationIndex()
    index.add([Event("user", "u1", 1000.0)])
    assert index.is_revoked(_token(999.0))
    assert not index.is_revoked(_token(1000.5))


def test_trust_and_app_cred_events() -> None:
    index = RevocationIndex()
    index.add([Event("trust", "t1", 1000.0), Event("app_cred", "a1", 1000.0)])
    assert index.is_revoked(_token(900.0, trust={"id": "t1", "trustor": "x", "trustee": "u1"}))
    assert index.is_revoked(_token(900.0, app_cred={"id": "a1"}))
    assert not index.is_revoked(_token(900.0, app_cred={"id": "a2"}))


def test_prune_forgets_old_events() -> None:
    index = RevocationIndex()
    index.add([Event("user", "u1", 100.0), Event("user", "u2", 5000.0)])
    index.prune(older_than=1000.0)
    assert len(index) == 1
    assert not index.is_revoked(_token(50.0))


def test_check_cost_does_not_grow_with_events() -> None:
    token = _token(time.time())
    small = RevocationIndex()
    small.add([Event("user", f"other-{i}", time.time()) for i in range(10)])
    big = RevocationIndex()
    big.add([Event("audit", f"other-{i}", time.time()) for i in range(100_000)])
    # Count work, not time: the index answers with a fixed number of lookups.
    lookups: list[int] = []
    for index in (small, big):
        calls = 0
        original = index._hit

        def counting(kind: str, key: str | None, at: float, _orig=original) -> bool:
            nonlocal calls
            calls += 1
            return _orig(kind, key, at)

        index._hit = counting  # type: ignore[method-assign]
        assert not index.is_revoked(token)
        lookups.append(calls)
    assert lookups[0] == lookups[1]

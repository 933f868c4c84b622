"""Token encoding, tampering, expiry and key rotation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stackling.common import errors
from stackling.identity.keys import KeyRepository
from stackling.identity.tokens import Ref, TokenCodec, TokenData, new_audit_id


def _token(expires_in: float = 3600) -> TokenData:
    now = time.time()
    return TokenData(
        user=Ref("u1", "alice"),
        user_domain=Ref("default", "Default"),
        methods=["password"],
        issued_at=now,
        expires_at=now + expires_in,
        audit_ids=[new_audit_id()],
        project=Ref("p1", "demo"),
        project_domain=Ref("default", "Default"),
        roles=[Ref("r1", "member"), Ref("r2", "reader")],
    )


def _codec(tmp_path: Path, max_keys: int = 3) -> tuple[KeyRepository, TokenCodec]:
    repo = KeyRepository(tmp_path / "keys", max_keys)
    repo.ensure()
    return repo, TokenCodec(repo.load())


def test_round_trip_keeps_every_claim(tmp_path: Path) -> None:
    _, codec = _codec(tmp_path)
    original = _token()
    decoded = codec.decode(codec.encode(original))
    assert decoded.to_payload() == original.to_payload()
    assert decoded.scope == "project"
    assert decoded.role_names == {"member", "reader"}


def test_tampered_token_is_refused(tmp_path: Path) -> None:
    _, codec = _codec(tmp_path)
    token = codec.encode(_token())
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    with pytest.raises(errors.NotFound):
        codec.decode(flipped)


def test_token_of_another_key_repository_is_refused(tmp_path: Path) -> None:
    _, codec = _codec(tmp_path / "a")
    _, other = _codec(tmp_path / "b")
    with pytest.raises(errors.NotFound):
        other.decode(codec.encode(_token()))


def test_expired_token_is_refused_unless_allowed(tmp_path: Path) -> None:
    _, codec = _codec(tmp_path)
    token = codec.encode(_token(expires_in=-5))
    with pytest.raises(errors.NotFound):
        codec.decode(token)
    assert codec.decode(token, allow_expired_s=60).user.name == "alice"


def test_rotation_keeps_old_tokens_until_their_key_falls_off(tmp_path: Path) -> None:
    repo, codec = _codec(tmp_path, max_keys=3)
    token = codec.encode(_token())
    repo.rotate()
    assert TokenCodec(repo.load()).decode(token).user.id == "u1"
    repo.rotate()
    repo.rotate()
    with pytest.raises(errors.NotFound):
        TokenCodec(repo.load()).decode(token)


def test_rotation_keeps_the_key_count_bounded(tmp_path: Path) -> None:
    repo, _ = _codec(tmp_path, max_keys=3)
    for _ in range(5):
        repo.rotate()
    names = sorted(p.name for p in (tmp_path / "keys").iterdir())
    assert len(names) == 3
    assert "0" in names
    assert all((tmp_path / "keys" / n).stat().st_mode & 0o777 == 0o600 for n in names)


def test_garbage_is_refused(tmp_path: Path) -> None:
    _, codec = _codec(tmp_path)
    for junk in ("", "x", "%%%%", "a" * 9000):
        with pytest.raises((errors.NotFound, errors.Unauthorized)):
            codec.decode(junk)

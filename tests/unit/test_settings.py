"""Settings precedence: defaults < TOML file < environment < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackling.settings import load


def test_defaults() -> None:
    s = load(None)
    assert s.port == 8780
    assert s.identity.password_hash_rounds == 12
    assert s.database_url.startswith("sqlite+aiosqlite:///")


def test_toml_then_env_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('port = 9000\nhost = "0.0.0.0"\n[identity]\ntoken_expiration_s = 60\n')
    monkeypatch.setenv("STACKLING_IDENTITY__TOKEN_EXPIRATION_S", "120")
    s = load(cfg, port=9100)
    assert s.port == 9100
    assert s.host == "0.0.0.0"
    assert s.identity.token_expiration_s == 120
    assert s.endpoint == "http://127.0.0.1:9100"
    assert s.config_file == cfg


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.toml")


def test_postgres_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKLING_DATABASE__URL", "postgresql+asyncpg://u:p@127.0.0.1/db")
    assert load(None).database_url == "postgresql+asyncpg://u:p@127.0.0.1/db"

"""Self-contained signed tokens: everything a validation returns is inside the token.

A token is a Fernet token (AES-CBC + HMAC-SHA256) over a compact JSON
payload, so validating one costs a MAC check and a decryption, never a
database read; revocation is checked against an in-memory index.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet

from stackling.common import errors


def new_audit_id() -> str:
    """A random url-safe audit id as Keystone makes them (22 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class Ref:
    """An id with its name, as tokens carry them."""

    id: str
    name: str


@dataclass(slots=True)
class TokenData:
    """What a token asserts."""

    user: Ref
    user_domain: Ref
    methods: list[str]
    issued_at: float
    expires_at: float
    audit_ids: list[str]
    project: Ref | None = None
    project_domain: Ref | None = None
    domain: Ref | None = None
    system: bool = False
    roles: list[Ref] = field(default_factory=list)
    trust: dict[str, Any] | None = None
    app_cred: dict[str, Any] | None = None
    is_domain_project: bool = False

    @property
    def role_names(self) -> set[str]:
        """Names of the roles the token carries (implied roles included)."""
        return {r.name for r in self.roles}

    @property
    def scope(self) -> str:
        """One of project, domain, system, unscoped."""
        if self.project is not None:
            return "project"
        if self.domain is not None:
            return "domain"
        if self.system:
            return "system"
        return "unscoped"

    def to_payload(self) -> dict[str, Any]:
        """Compact dict with short keys, for the wire."""
        p: dict[str, Any] = {
            "u": [self.user.id, self.user.name],
            "ud": [self.user_domain.id, self.user_domain.name],
            "m": self.methods,
            "i": round(self.issued_at, 6),
            "e": round(self.expires_at, 6),
            "a": self.audit_ids,
        }
        if self.project is not None and self.project_domain is not None:
            p["p"] = [self.project.id, self.project.name]
            p["pd"] = [self.project_domain.id, self.project_domain.name]
            if self.is_domain_project:
                p["pi"] = 1
        if self.domain is not None:
            p["d"] = [self.domain.id, self.domain.name]
        if self.system:
            p["s"] = 1
        if self.roles:
            p["r"] = [[r.id, r.name] for r in self.roles]
        if self.trust is not None:
            p["t"] = self.trust
        if self.app_cred is not None:
            p["ac"] = self.app_cred
        return p

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> TokenData:
        """Inverse of to_payload."""
        return cls(
            user=Ref(*p["u"]),
            user_domain=Ref(*p["ud"]),
            methods=list(p["m"]),
            issued_at=float(p["i"]),
            expires_at=float(p["e"]),
            audit_ids=list(p["a"]),
            project=Ref(*p["p"]) if "p" in p else None,
            project_domain=Ref(*p["pd"]) if "pd" in p else None,
            is_domain_project=bool(p.get("pi")),
            domain=Ref(*p["d"]) if "d" in p else None,
            system=bool(p.get("s")),
            roles=[Ref(*r) for r in p.get("r", [])],
            trust=p.get("t"),
            app_cred=p.get("ac"),
        )


_DECODED_MAX = 4096


class TokenCodec:
    """Turns TokenData into token strings and back."""

    def __init__(self, fernet: MultiFernet) -> None:
        self._fernet = fernet
        # Decrypting is most of the cost of a request that only reads a token (a
        # GET of a small object); the same string always decodes to the same data,
        # so it is kept, and expiry is checked again on every use. A codec is made
        # per key set, so a key rotation starts an empty cache.
        self._decoded: dict[str, TokenData] = {}

    def encode(self, data: TokenData) -> str:
        """Sign and encrypt; the trailing padding is dropped as Keystone does."""
        raw = json.dumps(data.to_payload(), separators=(",", ":")).encode()
        return self._fernet.encrypt(raw).decode().rstrip("=")

    def decode(self, token: str, *, allow_expired_s: float = 0.0) -> TokenData:
        """Verify and decrypt; Unauthorized when forged, malformed or expired."""
        if not token or len(token) > 8192:
            raise errors.Unauthorized("The request you have made requires authentication.")
        data = self._decoded.get(token)
        if data is None:
            padded = token + "=" * (-len(token) % 4)
            try:
                raw = self._fernet.decrypt(padded.encode())
                data = TokenData.from_payload(json.loads(raw))
            except (InvalidToken, ValueError, KeyError, TypeError, binascii.Error) as exc:
                raise errors.NotFound("Could not recognize Fernet token") from exc
            if len(self._decoded) >= _DECODED_MAX:
                self._decoded.clear()
            self._decoded[token] = data
        if data.expires_at + allow_expired_s <= time.time():
            raise errors.NotFound("The token has expired")
        return data

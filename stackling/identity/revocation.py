"""In-memory index of revocation events: each token check is a few dict lookups.

Keystone scans its revocation events on every validation, so its validation
slows as events pile up; here each event is filed under the one key it
revokes by, and a token is checked by looking up its own keys, whatever the
number of events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stackling.identity.tokens import TokenData

# The kinds of event, each revoking by one key.
KINDS = ("audit", "user", "user_project", "project", "domain", "trust", "app_cred", "role")


@dataclass(frozen=True, slots=True)
class Event:
    """Revokes tokens matching (kind, key) issued at or before `issued_before` (epoch s)."""

    kind: str
    key: str
    issued_before: float


class RevocationIndex:
    """Latest revocation time per (kind, key)."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], float] = {}
        self.last_event_id = 0

    def __len__(self) -> int:
        return len(self._latest)

    def add(self, events: Iterable[Event]) -> None:
        """File events; an older event under the same key changes nothing."""
        for ev in events:
            k = (ev.kind, ev.key)
            if self._latest.get(k, 0.0) < ev.issued_before:
                self._latest[k] = ev.issued_before

    def prune(self, older_than: float) -> None:
        """Forget events that no unexpired token can match."""
        self._latest = {k: t for k, t in self._latest.items() if t >= older_than}

    def _hit(self, kind: str, key: str | None, issued_at: float) -> bool:
        if key is None:
            return False
        t = self._latest.get((kind, key))
        return t is not None and issued_at <= t

    def is_revoked(self, tok: TokenData) -> bool:
        """Whether any recorded event revokes this token."""
        at = tok.issued_at
        if any(self._hit("audit", a, at) for a in tok.audit_ids):
            return True
        if self._hit("user", tok.user.id, at):
            return True
        if tok.project is not None:
            if self._hit("project", tok.project.id, at):
                return True
            if self._hit("user_project", f"{tok.user.id}:{tok.project.id}", at):
                return True
            if tok.project_domain and self._hit("domain", tok.project_domain.id, at):
                return True
        if tok.domain is not None:
            if self._hit("domain", tok.domain.id, at):
                return True
            if self._hit("user_project", f"{tok.user.id}:{tok.domain.id}", at):
                return True
        if self._hit("domain", tok.user_domain.id, at):
            return True
        if tok.trust is not None:
            t = tok.trust
            if self._hit("trust", t.get("id"), at) or self._hit("user", t.get("trustor"), at):
                return True
        if tok.app_cred is not None and self._hit("app_cred", tok.app_cred.get("id"), at):
            return True
        return any(self._hit("role", r.id, at) for r in tok.roles)

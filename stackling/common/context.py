"""Who is asking: the request context every service layer call receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class RequestContext:
    """The caller as established from their token, plus the request id."""

    request_id: str = "-"
    auth_token: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None
    system_scope: bool = False
    roles: frozenset[str] = frozenset()
    role_ids: frozenset[str] = frozenset()
    trust_id: str | None = None
    application_credential_id: str | None = None
    # The validated token itself, for the identity service (opaque to others).
    token: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        """Holds the admin role (in any scope, as Keystone without enforce_scope)."""
        return "admin" in self.roles

    @property
    def is_reader(self) -> bool:
        """Holds at least the reader role in its scope."""
        return bool(self.roles & {"admin", "member", "reader"})

    @property
    def is_member(self) -> bool:
        """Holds at least the member role in its scope."""
        return bool(self.roles & {"admin", "member"})


class TokenValidator(Protocol):
    """Turns an X-Auth-Token into a context; provided by the identity service."""

    async def context_for(self, token: str, request_id: str) -> RequestContext:
        """The caller's context, or Unauthorized."""
        ...

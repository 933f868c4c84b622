"""One Swift request: the path's account, container and object, the caller, and replies."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from stackling.common.context import RequestContext
from stackling.object.service.core import ObjectService

# Roles that make a user of the account's project its operator (keystoneauth's
# operator_roles), and the role that may act on every account (reseller_admin_role).
OPERATOR_ROLES = frozenset({"admin", "member", "swiftoperator"})
RESELLER_ROLE = "reselleradmin"
PLAIN = "text/plain; charset=utf-8"


def new_trans_id() -> str:
    """Swift's transaction id: tx, 21 random hex digits, a dash, the time in hex."""
    return f"tx{os.urandom(11).hex()[:21]}-{int(time.time()):010x}"


@dataclass(slots=True)
class Call:
    """What every Swift handler works from."""

    request: Request
    svc: ObjectService
    runtime: Any
    account: str  # the project id of the AUTH_ account in the path
    container: str | None
    obj: str | None
    trans_id: str
    ctx: RequestContext | None = None
    # Set when a temp URL signature authorised this one request.
    temp_url: bool = False
    query: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> Headers:
        """The request headers."""
        return self.request.headers

    @property
    def method(self) -> str:
        """The request method."""
        return self.request.method

    @property
    def roles(self) -> frozenset[str]:
        """The caller's roles, lower-cased."""
        return frozenset(r.lower() for r in self.ctx.roles) if self.ctx else frozenset()

    @property
    def is_reseller(self) -> bool:
        """The caller may act on any account."""
        return RESELLER_ROLE in self.roles

    @property
    def is_owner(self) -> bool:
        """The caller operates this account (or is a reseller admin, or holds a temp URL)."""
        if self.temp_url or self.is_reseller:
            return True
        ctx = self.ctx
        return (
            ctx is not None and ctx.project_id == self.account and bool(self.roles & OPERATOR_ROLES)
        )

    def reply(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str = PLAIN,
    ) -> Response:
        """A response with the headers every Swift response has."""
        out = {"X-Trans-Id": self.trans_id, "X-Openstack-Request-Id": self.trans_id}
        if headers:
            out.update(headers)
        resp = Response(body, status_code=status, headers=out)
        resp.headers["content-type"] = content_type
        if status == 204 or status == 304:
            # Swift sends no Content-Length on these; starlette would add "0".
            del resp.headers["content-length"]
        return resp


def parse_query(raw: bytes) -> dict[str, str]:
    """The query string as a dict; a key repeated keeps its last value, blanks are kept."""
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))

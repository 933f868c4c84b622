"""Container ACLs as keystoneauth reads them: referrers for anonymous reads, project:user rules.

X-Container-Read holds `.r:<referrer>` (`.r:*` for anyone, `.r:-host` to deny),
`.rlistings` (anonymous listing as well as reads), and `<project>:<user>` rules
(ids or names, `*` for either side); X-Container-Write holds project:user rules
only. A rule with no colon names a project role, which Swift also accepts.
"""

from __future__ import annotations

from urllib.parse import urlparse

from stackling.common.context import RequestContext


def parse(value: str | None) -> list[str]:
    """The rules of an ACL header value."""
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _host_matches(rule: str, host: str) -> bool:
    if rule == "*":
        return True
    if rule.startswith("."):
        return host.endswith(rule) or host == rule[1:]
    if rule.startswith("*."):
        return host.endswith(rule[1:])
    return host == rule


def referrer_allows(rules: list[str], referrer: str | None) -> bool:
    """Whether the .r: rules let a request from this Referer read (the last match decides)."""
    host = urlparse(referrer).hostname or "" if referrer else ""
    allowed = False
    for rule in rules:
        if not rule.startswith(".r:"):
            continue
        target = rule[3:]
        deny = target.startswith("-")
        if deny:
            target = target[1:]
        if target == "*" and not deny:
            allowed = True
        elif host and _host_matches(target, host):
            allowed = not deny
    return allowed


def listings_allowed(rules: list[str]) -> bool:
    """Whether anonymous referrer-allowed callers may also list the container."""
    return ".rlistings" in rules


def user_allows(rules: list[str], ctx: RequestContext | None) -> bool:
    """Whether a project:user (or role) rule names the authenticated caller."""
    if ctx is None:
        return False
    projects = {ctx.project_id, ctx.project_name, "*"} - {None}
    users = {ctx.user_id, ctx.user_name, "*"} - {None}
    roles = {r.lower() for r in ctx.roles}
    for rule in rules:
        if rule.startswith("."):
            continue
        project, sep, user = rule.partition(":")
        if sep:
            if project in projects and user in users:
                return True
        elif rule.lower() in roles:
            return True
    return False


def validate(value: str) -> None:
    """Reject referrer rules in a write ACL and empty referrers (ValueError with why)."""
    for rule in parse(value):
        if rule.startswith(".r:") and len(rule) == 3:
            raise ValueError("Referrer rule is missing its host")

"""Policy as data: each action names a rule, a rule is a predicate over (context, target)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stackling.common import errors
from stackling.common.context import RequestContext

Target = Mapping[str, Any]
Rule = Callable[[RequestContext, Target], bool]


def any_of(*rules: Rule) -> Rule:
    """A rule passing when one of `rules` passes."""
    return lambda ctx, target: any(rule(ctx, target) for rule in rules)


def admin(ctx: RequestContext, target: Target) -> bool:
    """The caller holds admin."""
    return ctx.is_admin


def authenticated(ctx: RequestContext, target: Target) -> bool:
    """Any valid token."""
    return ctx.user_id is not None


def owner(ctx: RequestContext, target: Target) -> bool:
    """The target belongs to the calling user."""
    return target.get("user_id") is not None and target.get("user_id") == ctx.user_id


def project_reader(ctx: RequestContext, target: Target) -> bool:
    """A reader (or more) of the target's project."""
    return (
        ctx.is_reader and ctx.project_id is not None and ctx.project_id == target.get("project_id")
    )


def project_member(ctx: RequestContext, target: Target) -> bool:
    """A member (or more) of the target's project."""
    return (
        ctx.is_member and ctx.project_id is not None and ctx.project_id == target.get("project_id")
    )


def domain_reader(ctx: RequestContext, target: Target) -> bool:
    """A reader of a domain-scoped token on the target's domain."""
    return ctx.is_reader and ctx.domain_id is not None and ctx.domain_id == target.get("domain_id")


class Policy:
    """Named rules; `enforce` raises Forbidden when the rule for an action fails."""

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        self._rules = dict(rules)

    def check(self, ctx: RequestContext, action: str, target: Target | None = None) -> bool:
        """Whether the caller may perform `action` on `target`."""
        rule = self._rules.get(action)
        if rule is None:
            # An action without a rule is a programming error: refuse rather than allow.
            return False
        return rule(ctx, target or {})

    def enforce(self, ctx: RequestContext, action: str, target: Target | None = None) -> None:
        """Raise Forbidden unless the caller may perform `action`."""
        if not self.check(ctx, action, target):
            raise errors.Forbidden(
                f"You are not authorized to perform the requested action: {action}."
            )

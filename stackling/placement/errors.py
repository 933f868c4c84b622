"""Placement's domain errors, each with the `code` Placement puts in its error body (1.23)."""

from __future__ import annotations

from stackling.common import errors

UNDEFINED = "placement.undefined_code"


class ConcurrentUpdate(errors.Conflict):
    """A generation did not match: someone else changed the provider or consumer first."""

    code = "placement.concurrent_update"


class AllocationConflict(errors.Conflict):
    """Allocations do not fit: capacity exceeded, or min_unit/max_unit/step_size violated."""

    code = UNDEFINED


class InventoryInUse(errors.Conflict):
    """Inventory with allocations against it cannot be removed."""

    code = "placement.inventory.inuse"


class DuplicateName(errors.Conflict):
    """Another resource of this kind already has the name."""

    code = "placement.duplicate_name"


class ProviderInUse(errors.Conflict):
    """A provider with allocations cannot be deleted."""

    code = "placement.resource_provider.inuse"


class CannotDeleteParent(errors.Conflict):
    """A provider with children cannot be deleted."""

    code = "placement.resource_provider.cannot_delete_parent"


class QueryBadValue(errors.BadRequest):
    """A query parameter is well formed but makes no sense."""

    code = "placement.query.bad_value"


class QueryDuplicateKey(errors.BadRequest):
    """A query parameter that may appear once appeared more often."""

    code = "placement.query.duplicate_key"


class VersionNotAcceptable(errors.StacklingError):
    """The requested microversion is outside what this server offers."""

    status = 406
    title = "Not Acceptable"

    def __init__(self, message: str, *, min_version: str, max_version: str) -> None:
        super().__init__(message)
        self.min_version = min_version
        self.max_version = max_version

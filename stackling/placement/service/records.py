"""What the placement service hands back: plain frozen values, never ORM rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from stackling.common import errors

MAX_INT = 2147483647
# Placement's defaults for an inventory field a caller leaves out.
INVENTORY_DEFAULTS: dict[str, int | float] = {
    "reserved": 0,
    "min_unit": 1,
    "max_unit": MAX_INT,
    "step_size": 1,
    "allocation_ratio": 1.0,
}
INVENTORY_FIELDS = ("total", *INVENTORY_DEFAULTS)


@dataclass(frozen=True, slots=True)
class Provider:
    """A resource provider."""

    uuid: str
    name: str
    generation: int
    parent_provider_uuid: str | None
    root_provider_uuid: str
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Inventory:
    """One resource class of a provider's inventory."""

    resource_class: str
    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = MAX_INT
    step_size: int = 1
    allocation_ratio: float = 1.0

    @property
    def capacity(self) -> int:
        """How much may be allocated in all: (total - reserved) * allocation_ratio."""
        return int((self.total - self.reserved) * self.allocation_ratio)

    def fits(self, amount: int, used: int) -> bool:
        """Whether one more allocation of `amount` is allowed by capacity and unit rules."""
        return self.allows(amount) and self.fits_total(amount, used)

    def fits_total(self, amount: int, used: int) -> bool:
        """Whether `amount` more fits next to `used` (compared unrounded, as Placement does)."""
        return used + amount <= (self.total - self.reserved) * self.allocation_ratio

    def allows(self, amount: int) -> bool:
        """Whether `amount` respects min_unit, max_unit and step_size."""
        return self.min_unit <= amount <= self.max_unit and amount % self.step_size == 0

    def as_dict(self) -> dict[str, int | float]:
        """The inventory fields as Placement shows them."""
        return {
            "total": self.total,
            "reserved": self.reserved,
            "min_unit": self.min_unit,
            "max_unit": self.max_unit,
            "step_size": self.step_size,
            "allocation_ratio": self.allocation_ratio,
        }


def make_inventory(
    resource_class: str,
    values: dict[str, int | float],
    *,
    provider_uuid: str,
    reserved_may_equal_total: bool = True,
) -> Inventory:
    """An Inventory from a caller's dict: defaults filled, values checked (400 when wrong)."""
    unknown = set(values) - set(INVENTORY_FIELDS)
    if unknown:
        raise errors.BadRequest(
            f"Invalid inventory for '{resource_class}': unknown field(s) {sorted(unknown)}."
        )
    if "total" not in values:
        raise errors.BadRequest(f"Inventory for '{resource_class}' has no 'total'.")
    merged = {**INVENTORY_DEFAULTS, **values}
    ints: dict[str, int] = {}
    for name in ("total", "reserved", "min_unit", "max_unit", "step_size"):
        value = merged[name]
        lowest = 0 if name == "reserved" else 1
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.BadRequest(f"Inventory '{name}' of '{resource_class}' must be an integer.")
        if not lowest <= value <= MAX_INT:
            raise errors.BadRequest(
                f"Inventory '{name}' of '{resource_class}' must be between {lowest} and {MAX_INT}."
            )
        ints[name] = value
    ratio = merged["allocation_ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio < 3.4e38:
        raise errors.BadRequest(
            f"Inventory 'allocation_ratio' of '{resource_class}' must be a number above 0."
        )
    too_much = ints["reserved"] > ints["total"] or (
        not reserved_may_equal_total and ints["reserved"] == ints["total"]
    )
    if too_much:
        relation = "greater than" if reserved_may_equal_total else "greater than or equal to"
        raise errors.BadRequest(
            f"Unable to update inventory for resource provider {provider_uuid}: "
            f"Invalid inventory for '{resource_class}' on resource provider "
            f"'{provider_uuid}'. The reserved value is {relation} total."
        )
    return Inventory(resource_class=resource_class, allocation_ratio=float(ratio), **ints)


@dataclass(frozen=True)
class Candidate:
    """One provider that can satisfy a whole request on its own."""

    provider_uuid: str
    provider_name: str
    # Resource class -> {"capacity": ..., "used": ...}, for every class it has.
    summaries: dict[str, dict[str, int]]
    # What to allocate on it: the request itself.
    resources: dict[str, int] = field(default_factory=dict)
    traits: frozenset[str] = frozenset()
    parent_provider_uuid: str | None = None
    root_provider_uuid: str | None = None
    generation: int = 0

    @property
    def allocations(self) -> dict[str, dict[str, int]]:
        """The allocations to claim for this candidate (provider uuid -> resources)."""
        return {self.provider_uuid: dict(self.resources)}


@dataclass(frozen=True)
class ConsumerAllocations:
    """Everything a consumer holds, with the generations a client needs to change it."""

    consumer_uuid: str
    project_id: str | None
    user_id: str | None
    generation: int | None
    consumer_type: str | None
    # Provider uuid -> resource class -> amount.
    allocations: dict[str, dict[str, int]]
    provider_generations: dict[str, int]
    updated_at: dt.datetime | None = None

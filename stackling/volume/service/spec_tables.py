"""Key/value specs of a type (volume types' extra specs, group types' group specs).

Both are rows (owner id, key, value) under an owning type; setting merges,
deleting removes one key. Only the tables and the not-found wording differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stackling.volume.service.core import VolumeService


@dataclass(frozen=True, slots=True)
class SpecTable:
    """Where one kind of specs lives and how its absences are worded."""

    owner: type[Any]
    spec: type[Any]
    # The spec rows' column naming their owner.
    owner_column: str
    owner_missing: Callable[[str], Exception]
    key_missing: Callable[[str, str], Exception]


async def set_specs(
    svc: VolumeService, table: SpecTable, owner_id: str, specs: dict[str, str]
) -> dict[str, str]:
    """Add or replace specs of one owner; the others stay. The specs given."""

    async def _do(s: Any) -> None:
        if await s.get(table.owner, owner_id) is None:
            raise table.owner_missing(owner_id)
        for key, value in specs.items():
            row = await s.get(table.spec, (owner_id, key))
            if row is None:
                s.add(table.spec(**{table.owner_column: owner_id, "key": key, "value": value}))
            else:
                row.value = value

    await svc.tx(_do)
    return specs


async def delete_spec(svc: VolumeService, table: SpecTable, owner_id: str, key: str) -> None:
    """Remove one spec; 404 in the table's words when the owner or the key is not there."""

    async def _do(s: Any) -> None:
        if await s.get(table.owner, owner_id) is None:
            raise table.owner_missing(owner_id)
        row = await s.get(table.spec, (owner_id, key))
        if row is None:
            raise table.key_missing(owner_id, key)
        await s.delete(row)

    await svc.tx(_do)

"""Conntrack zones per network, stable across restarts: a small JSON file, written atomically.

A zone must not change while the network has connections (they would be
forgotten) and two bridges must never share one (tenants reuse addresses),
so the lowest free zone is given once and remembered; a hash of the id could
collide. The file is the agent's own and is rewritten by rename, so a crash
leaves the old or the new version, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection
from pathlib import Path

LOG = logging.getLogger(__name__)

MAX_ZONE = 65535


class ZoneBook:
    """Network id → conntrack zone (1..65535), persisted in `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zones: dict[str, int] = self._load()

    def _load(self) -> dict[str, int]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # Zones only have to be stable while connections live: starting over is safe.
            LOG.warning("ignoring unreadable zone file %s: %s", self.path, exc)
            return {}
        zones: dict[str, int] = {}
        for network_id, zone in raw.items() if isinstance(raw, dict) else ():
            if isinstance(zone, int) and 1 <= zone <= MAX_ZONE and zone not in zones.values():
                zones[str(network_id)] = zone
        return zones

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(self._zones, sort_keys=True, indent=1) + "\n")
        os.replace(tmp, self.path)

    def assign(self, wanted: Collection[str]) -> dict[str, int]:
        """Zones for exactly the networks in `wanted` (old ones kept, others freed)."""
        before = dict(self._zones)
        self._zones = {n: z for n, z in self._zones.items() if n in wanted}
        used = set(self._zones.values())
        free = (z for z in range(1, MAX_ZONE + 1) if z not in used)
        for network_id in sorted(set(wanted) - set(self._zones)):
            zone = next(free, None)
            if zone is None:
                raise RuntimeError("no free conntrack zone left")
            self._zones[network_id] = zone
        if self._zones != before:
            self._save()
        return {n: self._zones[n] for n in wanted}

    def get(self, network_id: str) -> int | None:
        """The zone a network holds, if any."""
        return self._zones.get(network_id)

"""l2-population: the static forwarding entries a VXLAN device needs on one host (pure).

No flooding to learn: each host is told where every other host's ports are.
For one network, every other host that has a port on it is a flood target
(its VTEP gets the all-zero MAC entry) and every port MAC there is sent
straight to that host's VTEP. Ports on this host need no entry: the bridge
learns them locally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RemotePort:
    """A port of the network and the host it is bound to."""

    mac: str
    host: str


@dataclass(frozen=True, slots=True)
class Fdb:
    """A VXLAN device's wanted entries: flood VTEPs and MAC → VTEP."""

    flood: frozenset[str]
    unicast: Mapping[str, str]


def fdb_for(ports: Iterable[RemotePort], vteps: Mapping[str, str], local_host: str) -> Fdb:
    """The entries for a network whose ports are `ports`, with `vteps` as host → VTEP address.

    A host without a known VTEP (its agent never registered) cannot be reached
    and is left out; so is any host whose VTEP is this host's own address.
    """
    local_vtep = vteps.get(local_host)
    flood: set[str] = set()
    unicast: dict[str, str] = {}
    for port in ports:
        if not port.host or port.host == local_host:
            continue
        vtep = vteps.get(port.host)
        if vtep is None or vtep == local_vtep:
            continue
        flood.add(vtep)
        unicast[port.mac.lower()] = vtep
    return Fdb(frozenset(flood), dict(sorted(unicast.items())))

"""Remove what the data plane left behind: everything with our names that is not wanted.

An agent that starts (or restarts after kill -9) reads its rows, builds the
`Keep` set of the names those rows imply (with `names`), and sweeps the rest:
DHCP servers of deleted networks, router advertisement daemons of routers
whose namespace goes (their files beside the DHCP servers'), namespaces of
deleted routers and networks, bridges, taps and VXLAN devices nobody uses, and
our nftables tables that are no longer wanted. Only names that parse as ours
are considered, so nothing of the host's own is ever touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from stackling.network.linux import dnsmasq, names, nft, radvd
from stackling.network.linux.links import delete_link, list_owned_links
from stackling.network.linux.netns import delete_namespace, list_namespaces

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Keep:
    """What must survive a sweep, by name."""

    namespaces: frozenset[str] = frozenset()
    links: frozenset[str] = frozenset()  # in the host's namespace
    tables: frozenset[tuple[str, str]] = frozenset()  # (family, name) in the host's namespace
    dhcp_networks: frozenset[str] = frozenset()  # network ids whose dnsmasq stays


@dataclass(frozen=True, slots=True)
class Inventory:
    """Everything on this host whose name says it is ours."""

    namespaces: tuple[names.Owned, ...] = ()
    links: tuple[names.Owned, ...] = ()  # in the host's namespace
    tables: tuple[tuple[str, str], ...] = ()  # in the host's namespace
    dhcp_networks: tuple[str, ...] = ()  # networks with a dnsmasq or files under the root
    radvd_routers: tuple[str, ...] = ()  # routers with a radvd or files beside that root


@dataclass(frozen=True, slots=True)
class Swept:
    """What a sweep removed."""

    dhcp_networks: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    tables: tuple[tuple[str, str], ...] = ()
    radvd_routers: tuple[str, ...] = ()


def _kept_routers(keep: Keep, tag: str) -> set[str]:
    """The routers whose namespace stays: their radvd is their reconcile's business."""
    owned = (names.parse_namespace(n, tag) for n in keep.namespaces)
    return {o.key for o in owned if o is not None and o.kind == names.Kind.ROUTER_NAMESPACE}


async def inventory(
    *, host_netns: str | None = None, tag: str = "", dhcp_root: Path | None = None
) -> Inventory:
    """List what exists with our names (the arguments as for `sweep`)."""
    owned_namespaces = (names.parse_namespace(n, tag) for n in await list_namespaces())
    tables = [t for t in await nft.list_tables(netns=host_netns) if names.is_our_table(*t)]
    dhcp: list[str] = []
    adverts: list[str] = []
    if dhcp_root is not None:
        dhcp = await dnsmasq.list_networks(dhcp_root)
        adverts = await radvd.list_routers(radvd.root_beside(dhcp_root))
    return Inventory(
        namespaces=tuple(o for o in owned_namespaces if o is not None),
        links=tuple(await list_owned_links(netns=host_netns)),
        tables=tuple(tables),
        dhcp_networks=tuple(dhcp),
        radvd_routers=tuple(adverts),
    )


async def sweep(
    keep: Keep,
    *,
    host_netns: str | None = None,
    tag: str = "",
    dhcp_root: Path | None = None,
) -> Swept:
    """Remove our dnsmasq processes, namespaces, links and tables that `keep` does not name.

    `host_netns` is where the host-side links and tables live (None: this
    process's namespace); `tag` scopes the namespaces (see `names`); `dhcp_root`
    is where the DHCP servers keep their files, the routers' radvd beside it
    (None: leave both alone).
    """
    # Daemons first: they run inside the namespaces about to go.
    dhcp: list[str] = []
    adverts: list[str] = []
    if dhcp_root is not None:
        dhcp = await dnsmasq.kill_strays(dhcp_root, keep.dhcp_networks)
        adverts = await radvd.kill_strays(radvd.root_beside(dhcp_root), _kept_routers(keep, tag))
    found = await inventory(host_netns=host_netns, tag=tag)
    gone_namespaces = []
    for owned in found.namespaces:
        if owned.name not in keep.namespaces:
            LOG.info("removing stray namespace %s", owned.name)
            await delete_namespace(owned.name)
            gone_namespaces.append(owned.name)
    gone_links = []
    for owned in found.links:
        if owned.name not in keep.links:
            LOG.info("removing stray %s %s", owned.kind, owned.name)
            await delete_link(owned.name, netns=host_netns)
            gone_links.append(owned.name)
    gone_tables = []
    for family, table in found.tables:
        if (family, table) not in keep.tables:
            LOG.info("removing stray nftables table %s %s", family, table)
            await nft.delete_table(family, table, netns=host_netns)
            gone_tables.append((family, table))
    return Swept(
        tuple(dhcp), tuple(gone_namespaces), tuple(gone_links), tuple(gone_tables), tuple(adverts)
    )

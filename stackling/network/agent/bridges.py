"""A network's bridge on this host: the network's own brq<id>, or an operator's provider bridge.

Provider bridges (`network.bridge_mappings`) may exist before the agent and
carry more than the cloud: the agent makes them if absent, gives them the
host's address (`network.provider_host_cidrs`) without removing any other,
sets the options every cloud bridge has (no STP, netfilter calls for the
security groups), leaves their MTU alone, never deletes them, and refuses a
device of that name that is not a bridge.
"""

from __future__ import annotations

import ipaddress

from stackling.network.linux import addresses, links
from stackling.network.linux.cmd import LinuxNetError
from stackling.settings import NetworkSettings


def provider_bridges(conf: NetworkSettings) -> list[str]:
    """Every provider bridge the settings name (mapped, or given a host address)."""
    return sorted({*conf.bridge_mappings.values(), *conf.provider_host_cidrs})


async def ensure_provider_bridge(bridge: str, conf: NetworkSettings) -> None:
    """The provider bridge exists, up, with the host's address on it (others kept)."""
    found = await links.get_link(bridge, netns=conf.host_netns)
    if found is not None and found.kind != "bridge":
        # `ensure_bridge` would replace it: never an operator's device named by mistake.
        raise LinuxNetError(
            f"provider bridge {bridge} exists as a {found.kind or 'device'}, not a bridge"
        )
    await links.ensure_bridge(bridge, netns=conf.host_netns)
    cidr = conf.provider_host_cidrs.get(bridge)
    if not cidr:
        return
    have = await addresses.list_addresses(bridge, netns=conf.host_netns)
    if ipaddress.ip_interface(cidr) not in have:
        wanted = [*(str(a) for a in have), cidr]
        await addresses.ensure_addresses(bridge, wanted, netns=conf.host_netns)


async def ensure_network_bridge(bridge: str, *, mtu: int | None, conf: NetworkSettings) -> None:
    """The bridge `desired.bridge_for` named for a network, made ready for its ports."""
    if bridge in provider_bridges(conf):
        await ensure_provider_bridge(bridge, conf)
    else:
        await links.ensure_bridge(bridge, mtu=mtu, netns=conf.host_netns)

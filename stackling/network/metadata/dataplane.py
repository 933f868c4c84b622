"""What the network agent calls from its DHCP setup: the metadata address and proxy of a network.

`ensure_metadata` gives the DHCP interface 169.254.169.254/32 (beside its own
addresses) and makes the network's proxy run in the namespace; guests reach
it through the host route dnsmasq hands out (`metadata_nexthop`).
`stop_metadata` undoes both; both converge from any state and can be called
on every reconcile.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

from stackling.network.linux import addresses
from stackling.network.linux.cmd import CommandError
from stackling.network.linux.dhcp import METADATA_IP
from stackling.network.metadata import process
from stackling.network.metadata.process import Outcome, ProxySpec

LOG = logging.getLogger(__name__)

METADATA_CIDR = f"{METADATA_IP}/32"


async def ensure_metadata(
    namespace: str, interface: str, network_id: str, *, dhcp_root: Path, upstream: Path
) -> Outcome:
    """Give `interface` the metadata address and run the network's proxy in `namespace`."""
    current = await addresses.list_addresses(interface, netns=namespace)
    if ipaddress.ip_interface(METADATA_CIDR) not in current:
        # Everything already there is passed along: this only ever adds.
        wanted = [*(str(a) for a in current), METADATA_CIDR]
        await addresses.ensure_addresses(interface, wanted, netns=namespace)
    spec = ProxySpec(network_id=network_id, namespace=namespace, upstream=upstream)
    outcome = await process.ensure(spec, dhcp_root)
    LOG.debug("metadata proxy of network %s: %s", network_id, outcome)
    return outcome


async def stop_metadata(
    network_id: str,
    *,
    dhcp_root: Path,
    namespace: str | None = None,
    interface: str | None = None,
) -> None:
    """Stop the network's proxy and, if the interface is named, remove its metadata address."""
    await process.stop(network_id, dhcp_root)
    if namespace is None or interface is None:
        return
    try:
        current = await addresses.list_addresses(interface, netns=namespace)
    except CommandError as exc:
        if exc.says("does not exist", "cannot find device", "no such file", "invalid argument"):
            return  # the namespace or interface is gone, and the address with it
        raise
    metadata = ipaddress.ip_interface(METADATA_CIDR)
    if metadata in current:
        await addresses.ensure_addresses(
            interface, [str(a) for a in current if a != metadata], netns=namespace
        )

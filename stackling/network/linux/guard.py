"""The host guard: the host never forwards the cloud's traffic to anything but the cloud.

Tenant and provider ranges live only on the cloud's bridges and namespaces. If
the host routes a packet from one of its bridges (or with a source address in
one of the guarded ranges) and the way out is not one of the cloud's own
interfaces, the packet is dropped and counted, before any NAT of the host's
could hide it behind the real uplink. The table (`names.GUARD_TABLE`) lives in
the host's namespace; it only adds drops, so other rulesets keep working.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackling.network.linux import names, nft

GUARD_FAMILY, GUARD_TABLE = names.GUARD_TABLE
COUNTER = "dropped"
# The cloud's interfaces in the host's namespace, as nft wildcards.
CLOUD_INTERFACES = (
    f"{names.BRIDGE_PREFIX}*",
    f"{names.TAP_PREFIX}*",
    f"{names.VXLAN_PREFIX}*",
)


@dataclass(frozen=True, slots=True)
class HostGuard:
    """What the guard watches and what it lets the cloud's traffic reach."""

    # Traffic coming in on these is the cloud's.
    cloud_bridges: tuple[str, ...] = (f"{names.BRIDGE_PREFIX}*",)
    # ...and so is traffic from these source ranges (tenant and provider ranges).
    guarded_prefixes: tuple[str, ...] = ()
    # Where the cloud's traffic may go: the cloud's own interfaces, plus any
    # deliberate exception (a provider network's real uplink, say).
    cloud_interfaces: tuple[str, ...] = CLOUD_INTERFACES
    allowed_outputs: tuple[str, ...] = ()


def render_host_guard(guard: HostGuard) -> str:
    """The nft script that makes the guard table exactly `guard`."""
    if not guard.cloud_bridges:
        raise ValueError("the guard needs at least one cloud bridge pattern")
    bridges = nft.elements(nft.ifname(b) for b in guard.cloud_bridges)
    outputs = nft.elements(nft.ifname(o) for o in (*guard.cloud_interfaces, *guard.allowed_outputs))
    v4 = nft.collapse(guard.guarded_prefixes, 4)
    v6 = nft.collapse(guard.guarded_prefixes, 6)
    body = [
        f"counter {COUNTER} {{",
        "}",
        "chain forward {",
        # Ahead of other filters so that the counter sees every leak attempt.
        "\ttype filter hook forward priority filter - 10; policy accept;",
        f"\tiifname {bridges} jump from_cloud",
        *([f"\tip saddr {nft.elements(v4)} jump from_cloud"] if v4 else []),
        *([f"\tip6 saddr {nft.elements(v6)} jump from_cloud"] if v6 else []),
        "}",
        "chain from_cloud {",
        f"\toifname {outputs} return",
        f'\tcounter name "{COUNTER}" drop',
        "}",
    ]
    return nft.replace_table(GUARD_FAMILY, GUARD_TABLE, nft.indent(body))


async def apply_host_guard(
    guard: HostGuard, *, netns: str | None = None, force: bool = False
) -> bool:
    """Install (or update) the guard, atomically; False if it already was exactly this."""
    return await nft.apply_tables(render_host_guard(guard), netns=netns, force=force)


async def guard_drops(*, netns: str | None = None) -> int:
    """How many packets the guard has dropped since it was last (re)written."""
    packets, _ = await nft.read_counter(GUARD_FAMILY, GUARD_TABLE, COUNTER, netns=netns)
    return packets


async def remove_host_guard(*, netns: str | None = None) -> None:
    """Remove the guard; an absent one is fine."""
    await nft.delete_table(GUARD_FAMILY, GUARD_TABLE, netns=netns)

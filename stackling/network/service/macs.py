"""MAC addresses for ports: random under the configured prefix, unique per network."""

from __future__ import annotations

import secrets


def random_mac(base_mac: str) -> str:
    """A random unicast MAC keeping the base's first three octets (and the fourth if set)."""
    base = [int(part, 16) for part in base_mac.split(":")]
    octets = base[:3] + [secrets.randbits(8) for _ in range(3)]
    if base[3] != 0:
        # Neutron's base_mac: a non-zero fourth octet is kept too, narrowing the range.
        octets[3] = base[3]
    return ":".join(f"{octet:02x}" for octet in octets)

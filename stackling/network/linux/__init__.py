"""The Networking service's Linux data plane: typed, idempotent building blocks, no database.

- `names`: every kernel object's name, derived from resource ids (and parsed back).
- `netns`: named network namespaces and sysctls in them.
- `links`: bridges, veth pairs, taps; `vxlan`: VXLAN devices and their static FDB.
- `addresses`: addresses on an interface, static routes in a namespace.
- `nft`: nftables scripts applied as one transaction; `nat` (router SNAT/DNAT),
  `secgroups` (stateful security groups on bridge ports), `guard` (the host guard).
- `dhcp` (dnsmasq's files as data) and `dnsmasq` (one daemon per network).
- `sweep`: remove whatever has our names but is no longer wanted.

Every `ensure_*`/`apply_*` converges from any starting point and every delete
tolerates absence, so the reconciling agent can call them again at any time.
All commands are asyncio subprocesses with timeouts (`cmd`).
"""

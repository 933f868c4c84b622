"""The network agent: makes one host's Linux data plane follow the database.

- `agent`: the reconciler (bus topic, keyed queue, start-up resync and sweep).
- `desired`: rows read and turned into the data plane's descriptions (`linux.*`);
  `bridge_for` says which bridge a network uses (its brq, or a provider bridge).
- `routers`: the `router:<id>` reconcile (qrouter- namespaces, qr-/qg- ports, NAT);
  `desired_l3` its rows and pure builders, and which host serves a router.
- `bridges`: networks' bridges, and the operator's provider bridges (`bridge_mappings`).
- `l2pop`: which remote VTEPs and MACs a VXLAN device must know (pure).
- `zones`: the conntrack zone of each network, kept stable in a small file.
"""

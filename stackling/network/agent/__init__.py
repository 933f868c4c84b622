"""The network agent: makes one host's Linux data plane follow the database.

- `agent`: the reconciler (bus topic, keyed queue, start-up resync and sweep).
- `desired`: rows read and turned into the data plane's descriptions (`linux.*`).
- `l2pop`: which remote VTEPs and MACs a VXLAN device must know (pure).
- `zones`: the conntrack zone of each network, kept stable in a small file.
"""

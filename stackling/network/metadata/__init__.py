"""The metadata path of guests (169.254.169.254), as Neutron's metadata proxy and agent do it.

`proxy` runs inside a network's namespace, one process per network, and
forwards each guest request to one unix socket per host, naming the network
and the guest's address; `server` answers on that socket: it finds the
instance behind (network, address), signs its id and asks the compute
service's metadata app. `process` and `dataplane` manage the proxies for the
agent; `service` runs the server for the network service.

This package's `__init__` imports nothing: the proxy is started as
`python -m stackling.network.metadata.proxy` and must stay standard-library only.
"""

"""The Neutron v2.0 HTTP API: routes translate, the service decides."""

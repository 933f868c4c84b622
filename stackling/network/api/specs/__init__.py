"""The attributes of each Neutron resource, one module per resource."""

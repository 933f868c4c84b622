"""One module per group of Neutron routes."""

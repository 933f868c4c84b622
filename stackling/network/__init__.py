"""Networking: the Neutron v2.0 API, its service layer and (in linux/) its data plane."""

"""Cinder v3 routes, one module per resource."""

"""Keystone v3 routes, one module per area."""

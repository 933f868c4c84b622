"""Hypervisor drivers behind one Protocol (base.py), chosen by name in settings."""

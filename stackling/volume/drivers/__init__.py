"""Drivers: the volume backends behind one Protocol."""

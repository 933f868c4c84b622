"""The compute agent: one per host, converging its hypervisor toward the database."""

"""Compute: Nova v2.1, the scheduler, the compute agent and its hypervisor drivers."""

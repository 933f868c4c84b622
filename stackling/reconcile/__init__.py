"""Reconciliation helpers shared by every agent: the per-key serial work queue."""

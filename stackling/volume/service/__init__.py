"""The volume service layer: decisions, quota, scoping."""

"""Pieces every service shares: context, errors, policy, ids, time."""

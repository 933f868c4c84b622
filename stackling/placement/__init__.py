"""Placement 1.x: resource providers, inventories, traits, aggregates and allocations."""

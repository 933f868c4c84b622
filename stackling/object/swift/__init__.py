"""The Swift v1 HTTP layer."""

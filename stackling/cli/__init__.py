"""The `stackling` command line."""

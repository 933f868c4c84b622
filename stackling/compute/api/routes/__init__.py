"""One module per resource of the Nova API."""

"""Identity decisions, one module per area; `core.Identity` holds what they share."""

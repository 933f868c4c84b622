"""Object service decisions: accounts, containers, objects, listings, expiry."""

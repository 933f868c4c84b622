"""Identity: the Keystone v3 API, tokens, catalog and the bootstrap of a new cloud."""

"""The Cinder v3 HTTP layer."""

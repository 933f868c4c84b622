"""Glance's metadata definitions catalog (metadefs): namespaces and what they hold."""

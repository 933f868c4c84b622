"""Stackling: an OpenStack-compatible IaaS cloud in one asyncio process."""

__version__ = "0.1.0"

"""Keystone v3 HTTP layer: parse, check policy, call the service, render."""

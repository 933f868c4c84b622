"""Functional tests of the Neutron v2.0 API (in-process, SQLite and PostgreSQL)."""

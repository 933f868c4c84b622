"""Helpers the test suites share: a throwaway PostgreSQL, API shortcuts, server processes."""

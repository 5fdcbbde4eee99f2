"""Persistence: the only layer that talks SQL (through sqlite-utils) or touches data files."""

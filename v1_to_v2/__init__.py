"""Upgrading DIDS v1 files to v2.0 (arrives with the translator issue)."""

"""The versions and profiles there are packs for: what the command line offers before any pack is loaded."""

from __future__ import annotations

VERSIONS = ("v1", "v2")
PROFILES = {"v1-dsp": "v1", "v1-portal": "v1", "v2": "v2"}

"""DIDS conformance harness: spec packs, readers and writers, and (later) the rule engine and reports."""

__version__ = "0.1.0"

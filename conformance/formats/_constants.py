"""The layouts and the record-size limit: what the command line offers before any reader is loaded."""

from __future__ import annotations

FORMATS = ("csv", "xml")
# The largest record a reader holds in memory unless told otherwise: a real DIDSRecord or CSV row is a few KiB.
DEFAULT_MAX_RECORD_BYTES = 4 * 1024 * 1024

"""Candidate expressions for the v2 rules (see check/_columnar_rules.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.check._columnar import NativeFactory

NATIVE_V2: dict[str, NativeFactory] = {}

"""DIDS v2.0 rules (profile v2). Placeholder until the v2 catalogue lands."""

from __future__ import annotations

from collections.abc import Callable

from conformance.check._rows import RuleFn, Setup

RULES: dict[str, Callable[[Setup], RuleFn]] = {}

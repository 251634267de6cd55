"""Column expressions for the columnar engine (check/_columnar.py): for a rule, an expression true exactly on the
rows that break it. A rule with no entry here is evaluated per distinct value combination instead, so an entry
is a speed-up, never a change of meaning; tests/test_engines.py holds the two engines to identical reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.check._columnar import NativeFactory

NATIVE_RULES: dict[str, NativeFactory] = {}

"""Column expressions for the columnar engine (check/_columnar.py), by rule id: for a rule, an expression true on
every row that may break it (false on a row that breaks it would lose a finding; true on a row that passes only
costs a look). A rule with no entry is evaluated once per distinct value combination instead, so an entry is a
speed-up, never a change of meaning; tests/test_engines.py holds the two engines to identical reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.check._columnar_v1 import NATIVE_V1
from conformance.check._columnar_v2 import NATIVE_V2

if TYPE_CHECKING:
    from conformance.check._columnar import NativeFactory

NATIVE_RULES: dict[str, NativeFactory] = {**NATIVE_V1, **NATIVE_V2}

"""Every record rule reads only the data items its catalogue entry names.

The engine relies on this: it caches a group of rules' results by the values of their items, so a rule that read
an item it does not declare could be served a stale answer. Each rule runs here on the base record and on every
breaking record of the v1 and v2 tables, with a row that records which positions are read.
"""

from __future__ import annotations

import pytest
from test_check_v1 import BREAKS as V1_BREAKS
from test_check_v1 import row as v1_row
from test_check_v2 import BREAKS as V2_BREAKS
from test_check_v2 import CONTEXT as V2_CONTEXT
from test_check_v2 import row as v2_row

from conformance.check import load_reference, make_context, rule_tables
from conformance.check._rows import Row, Setup
from conformance.spec import load_pack

SYNTHETIC = load_reference("synthetic")


class RecordingList(list[str]):
    def __init__(self, values: list[str]) -> None:
        super().__init__(values)
        self.read: set[int] = set()

    def __getitem__(self, index):  # type: ignore[no-untyped-def,override]
        self.read.add(index)
        return super().__getitem__(index)


def _rows(version: str) -> list[list[str]]:
    if version == "v1":
        return [v1_row()] + [v1_row(changes) for changes, _ in V1_BREAKS.values()]
    return [v2_row()] + [v2_row(changes) for changes, _, _ in V2_BREAKS.values()]


CASES = [
    (profile, spec.id)
    for profile, version in (("v1-dsp", "v1"), ("v1-portal", "v1"), ("v2", "v2"))
    for spec in load_pack(profile).rules_for(profile)
    if spec.kind == "record"
]


@pytest.mark.parametrize(("profile", "rule_id"), CASES)
def test_rule_reads_only_its_catalogued_items(profile: str, rule_id: str) -> None:
    pack = load_pack(profile)
    version = pack.version
    context = V2_CONTEXT if version == "v2" else make_context("2018-09-01T00:00")
    setup = Setup(pack, profile, context, SYNTHETIC)
    spec = pack.rule(rule_id)
    fn = rule_tables(version)[0][rule_id](setup)
    allowed = {pack.index[item] for item in spec.items}
    read: set[int] = set()
    for values in _rows(version):
        r = Row(1, 1, tuple(values), None)
        r.v = RecordingList(r.v)
        fn(r)
        read |= r.v.read
    assert read, "the rule read nothing"
    extra = sorted(pack.items[i].id for i in read - allowed)
    assert not extra, f"{rule_id} reads {extra} but its catalogue entry names only {list(spec.items)}"

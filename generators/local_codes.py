"""v1 local exam codes: a trust that sends its RIS's own exam codes in the NICIP field for some records, and the
local-code mapping table it lodges with NHS England (shaped like the peer data's `nicip_local_mappings`:
SUBMITTER_ORGANISATION, LOCAL_IMAGING_CODE, IMAGING_CODE_NICIP). The DSP maps them before validating; v2.0
accepts no local codes at all (dids-v2.md), which is why the translator must resolve them.

Local codes here are synthetic ("L" and four digits, one per catalogue NICIP code); the share of records that
carry one is an assumption (DEFAULT_SHARE).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from conformance.spec import Pack
from generators.service import PROCEDURES, PROVIDER, Block

DEFAULT_SHARE = 0.3
LOCAL_CODES = {nicip: f"L{n:04d}" for n, nicip in enumerate(sorted({p.nicip for p in PROCEDURES if p.nicip}), 1)}
COLUMNS = ("SUBMITTER_ORGANISATION", "LOCAL_IMAGING_CODE", "IMAGING_CODE_NICIP")


def write_mapping(path: str | Path, submitter: str = PROVIDER) -> int:
    """Write the trust's mapping table as CSV; returns the number of codes."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for nicip, local in sorted(LOCAL_CODES.items(), key=lambda kv: kv[1]):
            writer.writerow((submitter, local, nicip))
    return len(LOCAL_CODES)


@dataclass
class LocalCodesEdit:
    """A block edit (generators.generate.BlockEdit): about `share` of the v1 records with a NICIP code carry the
    local code instead, chosen by (seed, record) alone."""

    seed: int
    share: float = DEFAULT_SHARE

    def apply(self, block: Block, rows: list[list[str]], pack: Pack) -> list[list[str]]:
        at = pack.index["imaging_code_nicip"]
        for i, row in enumerate(rows):
            local = LOCAL_CODES.get(row[at])
            if local is not None and _chance(self.seed, block.first_record + i) < self.share:
                row[at] = local
        return rows


def _chance(seed: int, record: int) -> float:
    digest = hashlib.blake2b(f"local:{seed}:{record}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64

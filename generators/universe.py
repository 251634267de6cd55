"""The synthetic universe the generator draws from and the bundled reference data describes: organisations with
names and addresses, postcodes in every UK postcode area, and referrers with names.

`build_universe()` makes it from a fixed seed with Faker (en_GB, seeded) and the project's own random stream;
`write_universe(folder)` writes it as the reference tables (`dids fixtures universe`). The files in
conformance/check/reference_synthetic are the single source both sides read at run time: the generator's
practices, sites, postcodes and referrers are exactly the reference's, and a new Faker release cannot change a
generated month, because generation never calls Faker. Rebuilding with another Faker version may give other names
(the README there records the version used); the codes and postcodes come from the seeded stream alone.

Everything here is invented: organisation codes start X9 and are not issued ODS codes; referrer codes are
well-formed but random; names and street addresses are Faker's.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from faker import Faker

from conformance.files import OutputSet

SEED = 20260401
# Every geographic postcode area of the UK (Royal Mail's 121, Northern Ireland's BT included), from a data file.
POSTCODE_AREAS = tuple(
    resources.files("generators").joinpath("data/postcode-areas.txt").read_text("utf-8").split("\n", 1)[1].split()
)
# The inward code's letters never include C, I, K, M, O or V (Royal Mail; the v1 portal's XSD pattern too).
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# Kept from the first universe: the canonical records of generators/breaks.py and the tests name them.
FIRST_POSTCODES = ("LS1 4AP", "LS2 9JT", "LS6 2QA", "LS11 5DL", "BD1 1HY", "HX1 1UJ", "WF1 2EB", "YO1 7HH", "M1 1AE")
POSTCODES_PER_AREA = 2
GP_PRACTICES = 40
CLOSED_PRACTICE = 9  # X99009, closed in 2016 (the tests of the practice-open rules use it)
CONSULTANTS, GPS, NURSES = 300, 120, 40


@dataclass
class Universe:
    organisations: list[dict[str, str]] = field(default_factory=list)
    postcodes: list[dict[str, str]] = field(default_factory=list)
    referrers: list[dict[str, str]] = field(default_factory=list)


def build_universe(seed: int = SEED) -> Universe:
    """The whole universe, the same for the same seed (and Faker version, for names and streets)."""
    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    universe = Universe()
    codes = list(FIRST_POSTCODES)
    for area in POSTCODE_AREAS:
        for _ in range(POSTCODES_PER_AREA):
            district = rng.randint(1, 9) if len(area) == 2 else rng.randint(1, 20)
            inward = f"{rng.randint(0, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
            code = f"{area}{district} {inward}"
            if code not in codes:
                codes.append(code)
    universe.postcodes = [{"postcode": code, "area": code[: len(code) - 4].rstrip("0123456789")} for code in codes]

    def address() -> tuple[str, str]:
        return f"{fake.street_address()}, {fake.city()}".replace("\n", ", "), rng.choice(codes)

    def organisation(code: str, roles: str, start: str, end: str, name: str) -> None:
        street, postcode = address()
        universe.organisations.append(
            {"code": code, "roles": roles, "active_from": start, "active_to": end, "name": name,
             "address": street, "postcode": postcode}
        )  # fmt: skip

    organisation("X9T", "referring", "2000-01-01", "", "Synthetic NHS Trust")
    organisation("X9R", "referring", "2000-01-01", "2015-03-31", "Synthetic Trust closed in 2015")
    organisation("X9T01", "site", "2000-01-01", "", "Synthetic General Hospital imaging department")
    organisation("X9T02", "site", "2005-01-01", "", "Synthetic Community Diagnostic Centre")
    organisation("X9T09", "site", "2000-01-01", "2014-12-31", "Synthetic site closed in 2014")
    for n in [n for n in range(1, GP_PRACTICES + 2) if n != CLOSED_PRACTICE]:
        kind = rng.choice(("Surgery", "Medical Centre", "Health Centre", "Medical Practice", "Family Practice"))
        organisation(f"X99{n:03d}", "gp_practice referring", "1990-01-01", "", f"{fake.last_name()} {kind}")
    closed = f"X99{CLOSED_PRACTICE:03d}"
    organisation(closed, "gp_practice referring", "1990-01-01", "2016-06-30", "Synthetic practice closed in 2016")
    universe.organisations.sort(key=lambda o: o["code"])
    for kind, prefix, count in (("consultant", "C", CONSULTANTS), ("gp", "G", GPS), ("nurse", "", NURSES)):
        seen: set[str] = set()
        while len(seen) < count:
            if kind == "nurse":  # an NMC PIN: two digits, a letter, four digits, a letter
                letters = rng.choice("ABCDEFGHJ"), rng.choice("ACEN")
                code = f"{rng.randint(0, 99):02d}{letters[0]}{rng.randint(0, 9999):04d}{letters[1]}"
            else:
                code = f"{prefix}{rng.randrange(1_000_000, 9_999_999)}"
            if code in seen:
                continue
            seen.add(code)
            title = "Dr" if kind != "nurse" else rng.choice(("Ms", "Mr", "Mx"))
            name = f"{title} {fake.first_name()} {fake.last_name()}"
            universe.referrers.append({"code": code, "kind": kind, "name": name})
    return universe


COLUMNS = {
    "organisations.csv": ("code", "roles", "active_from", "active_to", "name", "address", "postcode"),
    "postcodes.csv": ("postcode", "area"),
    "referrers.csv": ("code", "kind", "name"),
}


def write_universe(folder: str | Path, seed: int = SEED) -> dict[str, int]:
    """Write the universe's tables into `folder` (whole or not at all); rows per file."""
    universe = build_universe(seed)
    tables = {
        "organisations.csv": universe.organisations,
        "postcodes.csv": universe.postcodes,
        "referrers.csv": universe.referrers,
    }
    with OutputSet() as outputs:
        for name, rows in tables.items():
            with outputs.text(Path(folder) / name, newline="") as handle:
                writer = csv.DictWriter(handle, COLUMNS[name], lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
    return {name: len(rows) for name, rows in tables.items()}

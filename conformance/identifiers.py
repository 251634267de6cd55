"""Identifiers DIDS carries and their check digits: NHS numbers (modulus 11) and SNOMED CT identifiers (Verhoeff),
and NHS numbers from the 999 test range for synthetic data. A floor every other package stands on: the checker
validates with it, the generators draw test numbers from it.

The 999 000 0000 - 999 999 9999 range is used for test data and is never issued to patients (dids-v1.md §8,
NW Genomics FHIR IG NHSIdentifier profile). The check digit follows the NHS DD NHS NUMBER definition: weights 10..2
on the first nine digits, 11 minus the sum modulo 11; 11 becomes 0 and 10 means the nine digits have no valid
number.
"""

from __future__ import annotations

from functools import lru_cache
from operator import mul

TEST_RANGE_PREFIX = "999"
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_number_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when no valid NHS number starts with them."""
    if len(first_nine) != 9 or not (first_nine.isascii() and first_nine.isdigit()):
        raise ValueError(f"need nine digits, got {first_nine!r}")
    remainder = sum(map(mul, _WEIGHTS, map(int, first_nine))) % 11
    check = 11 - remainder
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(value: str) -> bool:
    """True for ten digits (ASCII: str.isdigit alone admits a superscript two, which int() cannot read) whose last
    is the right modulus-11 check digit."""
    if len(value) != 10 or not (value.isascii() and value.isdigit()):
        return False
    check = 11 - sum(map(mul, _WEIGHTS, map(int, value[:9]))) % 11  # inlined: this runs once per record
    return (0 if check == 11 else check) == int(value[9])


SYNTHETIC_CAPACITY = 900_000  # distinct numbers synthetic_nhs_number gives before it wraps


def synthetic_nhs_number(serial: int) -> str:
    """The `serial`-th synthetic NHS number: 999, six digits, and a valid check digit; distinct for serials
    0 .. SYNTHETIC_CAPACITY - 1, then wrapping; never a palindrome of its first and last five digits, which NHS
    England's DSP rejects (DIDS001).

    Why this is one-to-one: for fixed first eight digits the ninth (weight 2) moves the weighted sum through ten
    different residues modulo 11, so at most one of its ten values has no check digit. Each eight-digit prefix
    therefore has at least nine valid completions; serial // 9 picks the prefix and serial % 9 the completion.
    The hundred serials that would give a palindrome take, in order, the spare tenth completions of the first
    prefixes that have ten (numbers no other serial gives).
    """
    if serial < 0:
        raise ValueError("serial must be non-negative")
    serial %= SYNTHETIC_CAPACITY
    swapped = _palindrome_swaps().get(serial)
    return swapped if swapped is not None else _completion(*divmod(serial, 9))


def is_palindromic(number: str) -> bool:
    return number[:5] == number[-5:][::-1]


def _completions(prefix: int) -> list[str]:
    head = f"{TEST_RANGE_PREFIX}{prefix:05d}"
    found = []
    for last in range(10):
        check = nhs_number_check_digit(f"{head}{last}")
        if check is not None:
            found.append(f"{head}{last}{check}")
    return found


def _completion(prefix: int, which: int) -> str:
    return _completions(prefix)[which]


@lru_cache(maxsize=1)
def _palindrome_swaps() -> dict[int, str]:
    # A palindrome 999ab|ba999 needs the prefix a b b a 9 (100 of them) and its completion ...9 with check digit 9.
    palindromic = [
        prefix * 9 + which
        for prefix in sorted(a * 10010 + b * 1100 + 9 for a in range(10) for b in range(10))
        for which, number in enumerate(_completions(prefix)[:9])
        if is_palindromic(number)
    ]
    spares: list[str] = []
    prefix = 0
    while len(spares) < len(palindromic):
        options = _completions(prefix)
        if len(options) == 10 and not is_palindromic(options[9]):
            spares.append(options[9])
        prefix += 1
    return dict(zip(palindromic, spares, strict=True))


# ----- SNOMED CT identifiers ------------------------------------------------------------------------------------
# An SCTID is 6-18 digits: an item identifier, a two-digit partition identifier ("00" for a core concept, "10" for
# a concept in an extension such as the UK's) and a Verhoeff check digit (SNOMED CT Technical Implementation
# Guide, "SCTID"; dids-v2.md §4.5). The tables are the dihedral group D5's multiplication, the Verhoeff
# permutation and its inverse.
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)
CONCEPT_PARTITIONS = ("00", "10")


def is_valid_verhoeff(digits: str) -> bool:
    c = 0
    for i, d in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][int(d)]]
    return c == 0


def is_well_formed_concept_id(value: str) -> bool:
    """6-18 digits (ASCII: str.isdigit alone admits a superscript one, which the check digit's int() cannot read),
    no leading zero, a concept partition and a valid Verhoeff check digit."""
    return (
        6 <= len(value) <= 18
        and value.isascii()
        and value.isdigit()
        and value[0] != "0"
        and value[-3:-1] in CONCEPT_PARTITIONS
        and is_valid_verhoeff(value)
    )

"""NHS numbers from the 999 test range, with valid modulus-11 check digits.

The 999 000 0000 - 999 999 9999 range is used for test data and is never issued to patients (dids-v1.md §8,
NW Genomics FHIR IG NHSIdentifier profile). The check digit follows the NHS DD NHS NUMBER definition: weights 10..2
on the first nine digits, 11 minus the sum modulo 11; 11 becomes 0 and 10 means the nine digits have no valid
number.
"""

from __future__ import annotations

TEST_RANGE_PREFIX = "999"
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_number_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits, or None when no valid NHS number starts with them."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError(f"need nine digits, got {first_nine!r}")
    remainder = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True)) % 11
    check = 11 - remainder
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(value: str) -> bool:
    """True for ten digits whose last is the right modulus-11 check digit."""
    return len(value) == 10 and value.isdigit() and nhs_number_check_digit(value[:9]) == int(value[9])


def synthetic_nhs_number(serial: int) -> str:
    """The `serial`-th valid NHS number in the 999 test range (serial 0 upwards; skips numbers with no check digit).

    Deterministic and dense: about 10 of every 11 serials map to distinct numbers before the range wraps.
    """
    if serial < 0:
        raise ValueError("serial must be non-negative")
    candidate = serial
    while True:
        body = f"{TEST_RANGE_PREFIX}{candidate % 1_000_000:06d}"
        check = nhs_number_check_digit(body)
        if check is not None:
            return f"{body}{check}"
        candidate += 1_000_000  # try the next block so the mapping stays one-to-one within the range

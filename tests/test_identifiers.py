"""Synthetic NHS numbers: the 999 test range, valid modulus-11 check digits, one-to-one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.identifiers import (
    SYNTHETIC_CAPACITY,
    is_valid_nhs_number,
    is_well_formed_concept_id,
    nhs_number_check_digit,
    synthetic_nhs_number,
)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("9434765919", True),  # the NHS Data Dictionary's worked example of the modulus-11 check
        ("9434765918", False),
        ("9990000018", True),
        ("999000001", False),  # nine digits
        ("99900000181", False),  # eleven digits
        ("999000001X", False),
        ("", False),
    ],
)
def test_known_numbers(number: str, valid: bool) -> None:
    assert is_valid_nhs_number(number) is valid


def test_a_prefix_whose_remainder_is_one_has_no_check_digit() -> None:
    # 9,9,9,0,0,0,0,0,5 weighted 10..2: 90+81+72+10 = 253 = 23*11, remainder 0 -> check 11 -> 0.
    assert nhs_number_check_digit("999000005") == 0
    prefixes_without = [f"99900000{d}" for d in range(10) if nhs_number_check_digit(f"99900000{d}") is None]
    assert len(prefixes_without) == 1  # exactly one last digit lands on remainder 1 for this prefix


@given(st.integers(0, SYNTHETIC_CAPACITY - 1))
def test_synthetic_numbers_are_in_the_test_range_and_valid(serial: int) -> None:
    number = synthetic_nhs_number(serial)
    assert number.startswith("999")
    assert is_valid_nhs_number(number)
    assert number[:5] != number[-5:][::-1]  # NHS England's DSP rejects palindromes (DIDS001)


def test_the_serials_that_would_give_palindromes_get_numbers_no_other_serial_gives() -> None:
    # 999ab|ba999: a prefix a b b a 9 and its completion 9 with check digit 9; serial = prefix * 9 + 8.
    swapped = [p * 9 + 8 for p in (9, 1109, 2209, 10019, 99999)]
    numbers = {synthetic_nhs_number(s) for s in swapped}
    assert all(n[:5] != n[-5:][::-1] for n in numbers)
    assert "9990000999" not in numbers and "9990110999" not in numbers
    neighbours = {synthetic_nhs_number(s) for s in range(0, 30_000)}
    assert len(neighbours) == 30_000


def test_synthetic_numbers_are_one_to_one_over_a_large_block() -> None:
    numbers = [synthetic_nhs_number(s) for s in range(50_000)]
    assert len(set(numbers)) == len(numbers)
    assert synthetic_nhs_number(SYNTHETIC_CAPACITY) == synthetic_nhs_number(0)  # wraps, documented


def test_negative_serials_and_bad_input_are_refused() -> None:
    with pytest.raises(ValueError):
        synthetic_nhs_number(-1)
    with pytest.raises(ValueError):
        nhs_number_check_digit("12345")


def test_only_ascii_digits_make_an_nhs_number_and_nothing_crashes() -> None:
    # "²" is isdigit() but int() refuses it; "٨" (Arabic-Indic eight) is a decimal digit but not an NHS number's.
    assert not is_valid_nhs_number("999000001\u00b2")
    assert not is_valid_nhs_number("999000001\u0668")
    with pytest.raises(ValueError):
        nhs_number_check_digit("99900000\u00b2")


def test_only_ascii_digits_make_a_snomed_concept_id_and_nothing_crashes() -> None:
    assert is_well_formed_concept_id("71651007")
    assert not is_well_formed_concept_id("71651008")  # the Verhoeff check digit
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in "71651007")
    for value in ("7\u00b9651007", "\u0667\u0661\u0666\u0665\u0661\u0660\u0660\u0667", fullwidth):
        assert not is_well_formed_concept_id(value)

"""Synthetic DIDS data: identifiers from reserved test ranges (more generators arrive with the generators issue)."""

from generators.identifiers import is_valid_nhs_number, nhs_number_check_digit, synthetic_nhs_number

__all__ = ["is_valid_nhs_number", "nhs_number_check_digit", "synthetic_nhs_number"]

"""Tax identification numbers: the Greek AFM with its check digit, and a sane generic format elsewhere.

`normalise_tax_id(value, country)` returns the form that is stored (upper case, separators removed)
or raises `ValueError` saying what is wrong.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s.\-/]")
_GENERIC = re.compile(r"^[A-Z0-9]{4,20}$")
_AFM = re.compile(r"^\d{9}$")


def afm_check_digit(first_eight: str) -> int:
    """The ninth digit of a Greek AFM: sum of each of the first eight digits times 2^(8-i), mod 11, mod 10."""
    total = sum(int(d) << (8 - i) for i, d in enumerate(first_eight))
    return total % 11 % 10


def is_valid_afm(value: str) -> bool:
    """True for a 9-digit AFM whose last digit is the check digit of the first eight (all zeros refused)."""
    if not _AFM.match(value) or value == "000000000":
        return False
    return afm_check_digit(value[:8]) == int(value[8])


def normalise_tax_id(value: str, country: str | None) -> str:
    cleaned = _SEPARATORS.sub("", value).upper()
    if country == "GR":
        # The VAT form of an AFM carries the prefix EL (Greece's VAT code), sometimes GR.
        if cleaned[:2] in ("EL", "GR"):
            cleaned = cleaned[2:]
        if not _AFM.match(cleaned):
            raise ValueError("a Greek tax id (AFM) has exactly 9 digits")
        if not is_valid_afm(cleaned):
            raise ValueError("not a valid Greek tax id (AFM): the check digit does not match")
        return cleaned
    if not _GENERIC.match(cleaned) or not any(c.isdigit() for c in cleaned):
        raise ValueError("a tax id has 4 to 20 letters and digits, at least one of them a digit")
    return cleaned

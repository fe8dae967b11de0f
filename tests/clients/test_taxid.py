"""Tax ids: the Greek AFM check digit, and the generic format for other countries."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.clients.taxid import afm_check_digit, is_valid_afm, normalise_tax_id

# AFMs of well-known Greek public companies (published on their invoices), and the same with one digit changed.
VALID_AFMS = ["090000045", "094019245", "094014201", "094493766", "998219694"]


@pytest.mark.parametrize("afm", VALID_AFMS)
def test_published_afms_are_valid(afm):
    assert is_valid_afm(afm)
    assert normalise_tax_id(afm, "GR") == afm


@pytest.mark.parametrize("afm", VALID_AFMS)
def test_changing_the_check_digit_makes_an_afm_invalid(afm):
    for digit in "0123456789":
        if digit != afm[-1]:
            assert not is_valid_afm(afm[:-1] + digit)


@pytest.mark.parametrize("value", ["123456789", "000000000", "12345678", "1234567890", "09000004A", ""])
def test_invalid_afms_are_refused_with_a_reason(value):
    with pytest.raises(ValueError, match="AFM"):
        normalise_tax_id(value, "GR")


def test_afm_is_normalised_from_its_vat_form_and_separators():
    assert normalise_tax_id("EL 090 000 045", "GR") == "090000045"
    assert normalise_tax_id("el090000045", "GR") == "090000045"
    assert normalise_tax_id("090-000-045", "GR") == "090000045"


def test_the_check_digit_by_hand():
    # 0*256 + 9*128 + 0 + 0 + 0 + 0 + 0 + 4*2 = 1160; 1160 mod 11 = 5; 5 mod 10 = 5.
    assert afm_check_digit("09000004") == 5


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_every_eight_digits_have_exactly_one_valid_check_digit(first_eight):
    valid = [d for d in "0123456789" if is_valid_afm(first_eight + d)]
    assert len(valid) == (0 if first_eight == "00000000" else 1)


@pytest.mark.parametrize(
    "value,country,expected",
    [
        ("DE 123 456 789", "DE", "DE123456789"),
        ("ab-12.34/56", None, "AB123456"),
        ("12345", "CY", "12345"),
    ],
)
def test_generic_tax_ids_are_normalised(value, country, expected):
    assert normalise_tax_id(value, country) == expected


@pytest.mark.parametrize("value", ["abc", "ABCDEFGH", "12", "1234567890123456789012", "12#45"])
def test_generic_tax_ids_need_letters_and_digits_of_a_sane_length(value):
    with pytest.raises(ValueError):
        normalise_tax_id(value, "DE")

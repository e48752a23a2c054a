"""The one check of incoming text: which characters are refused, and how they are named."""

import pytest

from core.text import forbidden_character, forbidden_character_message


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("A\x00B", "U+0000 (NUL)"),
        ("\x1b[31m", "U+001B (control character)"),
        ("x\x7f", "U+007F (DEL)"),
        ("bad \ud800 half", "U+D800"),
        ("\uffff", "U+FFFF"),
    ],
)
def test_control_characters_surrogates_and_noncharacters_are_named(value, label):
    assert forbidden_character(value) == label


@pytest.mark.parametrize("value", ["", "SKU-1", "line one\nline two\r\n\tindented", "手机壳 Phone case ✓", "\u00a0"])
def test_ordinary_text_tabs_and_line_breaks_pass(value):
    assert forbidden_character(value) is None
    assert forbidden_character_message(value) is None


def test_message_says_where_the_character_is():
    assert forbidden_character_message("AB\x00") == (
        "Contains U+0000 (NUL) at position 3; control characters are not allowed in text."
    )


def test_barcodes_and_hs_codes_take_ascii_digits_only():
    from django.core.exceptions import ValidationError

    from core.validators import validate_gtin, validate_hs_code

    for barcode in ("¹2345670", "４００６３８１３３３９３１"):
        with pytest.raises(ValidationError) as caught:
            validate_gtin(barcode)
        assert caught.value.code == "barcode_format"
    for hs_code in ("３９２６９０", "392690\n"):
        with pytest.raises(ValidationError):
            validate_hs_code(hs_code)

"""The number reader: French administrative notations, decided once per table (issue 19)."""

from hypothesis import given
from hypothesis import strategies as st

from pipelines.extract.numbers import EN, FR, FR_POINTS, decide_notation, decimals_of, parse_cell, prose_float


def _read(text, notation=FR):
    p = parse_cell(text, notation)
    return p.value, p.unit, p.status


def test_negative_notations():
    assert _read("(1 214 894,86)") == (-1214894.86, None, "ok")
    assert _read("(3 200) €") == (-3200.0, "€", "ok")
    assert _read("(3 200 €)") == (-3200.0, "€", "ok")
    assert _read("1 200,50-") == (-1200.5, None, "ok")
    assert _read("\u2212250") == (-250.0, None, "ok")
    assert _read("- €") == (0.0, "€", "ok")
    assert _read("(*)")[2] == "text"


def test_spaces_of_every_kind_group_thousands():
    for space in (" ", "\u00a0", "\u202f"):
        assert _read(f"1{space}234{space}567,5") == (1234567.5, None, "ok")


def test_dates_are_dates():
    for text in ("1.12.2009", "01.12.2009", "01/12/2009", "2009-12-01"):
        assert _read(text) == (None, None, "date")
    assert _read("31.13.2009")[2] == "malformed"  # no 13th month: a figure badly typed


def test_scaled_units():
    p = parse_cell("4,2 M€")
    assert (p.value, p.unit, p.scale) == (4.2, "M€", 1e6)
    p = parse_cell("730 k€")
    assert (p.value, p.unit, p.scale) == (730.0, "k€", 1e3)
    p = parse_cell("25,677 M")
    assert (p.value, p.unit, p.scale) == (25.677, "M", 1e6)
    assert parse_cell("12 €").scale == 1.0


def test_notation_decided_from_all_cells():
    assert decide_notation(["2.080.000 €", "736.000 €", "2004"]) == FR_POINTS
    assert decide_notation(["736.000 €", "845.000 €"]) == FR_POINTS
    assert decide_notation(["3,665", "855", "4,520"]) == EN
    assert decide_notation(["1,091,255", "7"]) == EN
    assert decide_notation(["10,644.5", "2"]) == EN
    assert decide_notation(["3,665"]) == FR  # one « 3,665 » alone is three decimals
    assert decide_notation(["3,665", "2,5"]) == FR  # « 2,5 » cannot be a thousands group
    assert decide_notation(["0,125", "1,250"]) == FR  # nor can a leading 0
    assert decide_notation(["736.000", "681.59"]) == FR  # a dot decimal: dots are decimals here
    assert decide_notation(["1 234,56", "12"]) == FR
    assert decide_notation(["1.12.2009", "22,455", "1,000"]) == EN  # a date is no evidence


def test_same_text_read_in_each_notation():
    assert _read("736.000 €", FR_POINTS) == (736000.0, "€", "ok")
    assert _read("1.234,5", FR_POINTS) == (1234.5, None, "ok")
    assert _read("3,665", EN) == (3665.0, None, "ok")
    assert _read("1,091,255.25", EN) == (1091255.25, None, "ok")
    assert _read("3,665", FR) == (3.665, None, "ok")
    assert decimals_of("3,665", EN) == 0 and decimals_of("3,665", FR) == 3
    assert decimals_of("1,234.56", EN) == 2


def test_unambiguous_groups_read_in_any_notation():
    assert _read("2.080.000 €") == (2080000.0, "€", "ok")
    assert _read("1,091,255") == (1091255.0, None, "ok")


def test_prose_dotted_thousands():
    assert prose_float("762.150") == 762150.0
    assert prose_float("1.5") == 1.5
    assert prose_float("0.125") == 0.125


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from([FR, FR_POINTS, EN]))
def test_grouped_integers_read_back_in_their_notation(n, notation):
    sep = {FR: " ", FR_POINTS: ".", EN: ","}[notation]
    printed = f"{n:,}".replace(",", sep)
    assert parse_cell(printed, notation).value == n


@given(st.text(max_size=40), st.sampled_from([FR, FR_POINTS, EN]))
def test_reader_never_raises(text, notation):
    assert parse_cell(text, notation).status in {"ok", "irregular", "malformed", "empty", "text", "date"}
    decide_notation([text, text[:5]])

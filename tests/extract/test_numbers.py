from hypothesis import given
from hypothesis import strategies as st

from pipelines.extract.numbers import decimals_of, format_fr, parse_cell, year_in_header


def test_french_numbers_and_units():
    assert parse_cell("1 235 734,41").value == 1235734.41
    p = parse_cell("5 330 681.59 €")
    assert (p.value, p.unit, p.status) == (5330681.59, "€", "ok")
    assert (parse_cell("12 %").value, parse_cell("12 %").unit) == (12.0, "%")
    assert (parse_cell("- €").value, parse_cell("- €").unit) == (0.0, "€")
    assert (parse_cell("350 jours").value, parse_cell("350 jours").unit) == (350.0, "jours")
    assert (parse_cell("2,3 To").value, parse_cell("2,3 To").unit) == (2.3, "To")
    assert parse_cell("<b>73</b>").value == 73.0
    assert parse_cell("1.234.567,89").value == 1234567.89


def test_composite_cell_gives_two_values():
    p = parse_cell("582 agents 91 jours")
    assert (p.value, p.unit, p.value2, p.unit2) == (582.0, "agents", 91.0, "jours")
    assert parse_cell("265 agents 112. jours").value2 == 112.0


def test_unreadable_is_kept_as_text_not_guessed():
    p = parse_cell("7 697 07, 80 €")
    assert (p.value, p.status) == (None, "malformed")
    p = parse_cell("1251 585.13 €")
    assert (p.value, p.status) == (1251585.13, "irregular")
    assert parse_cell("").status == "empty"
    assert parse_cell("Colonne1").status == "text"


def test_year_headers():
    assert year_in_header("nb jours 2016").year == 2016
    ref = year_in_header("2 021")
    assert (ref.year, ref.malformed) == (2021, True)
    assert year_in_header("Nombre d'emplois au 31/12/2021").date == "2021-12-31"
    assert year_in_header("Colonne1") is None


def test_printed_decimals_give_the_rounding_unit():
    assert decimals_of("2 570,5") == 1
    assert decimals_of("1 235 734,41 €") == 2
    assert decimals_of("1 164 jours") == 0
    assert decimals_of("5 330 681.59") == 2


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_round_trip_of_french_formatting(units, cents):
    value = units + (cents / 100 if units >= 0 else -cents / 100)
    printed = format_fr(value, 2)
    assert parse_cell(printed).value == round(value, 2)
    assert parse_cell(printed + " €").unit == "€"


@given(st.integers(min_value=0, max_value=10**9))
def test_grouped_integers_read_back(n):
    grouped = f"{n:,}".replace(",", " ")
    assert parse_cell(grouped).value == n
    assert parse_cell(grouped.replace(" ", "\u202f")).value == n


@given(st.text(max_size=40))
def test_parser_never_raises(text):
    p = parse_cell(text)
    assert p.status in {"ok", "irregular", "malformed", "empty", "text"}

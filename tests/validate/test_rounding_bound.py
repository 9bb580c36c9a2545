"""Rounding-aware totals (DESIGN): a total of n items printed to the unit u is consistent when its gap
to their sum is below n·u/2, the bound excluded. The boundary on small hand-written reports, the
formula itself, and the metrics SQL judging as the suite does."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_validate_helpers import run, summary  # noqa: E402

from pipelines.validate.verdicts import rounding_bound, total_tolerance, total_tolerance_sql  # noqa: E402


def _report(*rows: str, header: str = "Domaine\tJours") -> str:
    # lines: 1 title, 3 heading, 5 caption, 7 header, 8… items, then the total
    return ("Bilan d'activité 2018 du SIIM94\n\n1 Activité\n\nJours par domaine\n\n" + header + "\n"
            + "\n".join(rows) + "\n\nFin du rapport.\n")


@pytest.mark.parametrize("rows, expected", [
    # two whole items off by 1: the gap reaches 2 × 1/2, an error
    (("Finances\t10", "RH\t20", "Total\t31"), [("total.column", 10, "error", "31", "30")]),
    # three whole items off by 1: below 3 × 1/2, a rounding
    (("Finances\t100", "RH\t294", "Paie\t570", "Total\t965"), [("total.rounding", 11, "info", "965", "964")]),
    # three items off by 2: beyond 1,5
    (("Finances\t100", "RH\t294", "Paie\t570", "Total\t966"), [("total.column", 11, "error", "966", "964")]),
    # four items: off by 1 is a rounding, off by 2 reaches 4 × 1/2
    (("A\t1", "B\t2", "C\t3", "D\t4", "Total\t11"), [("total.rounding", 12, "info", "11", "10")]),
    (("A\t1", "B\t2", "C\t3", "D\t4", "Total\t12"), [("total.column", 12, "error", "12", "10")]),
    # two items to the tenth off by 0,1: the gap reaches 2 × 0,1/2
    (("Finances\t10,1", "RH\t20,2", "Total\t30,4"), [("total.column", 10, "error", "30,4", "30,3")]),
    # a total to the hundredth 0,05 off two items to the tenth: below 0,1 (the true items may be 10,12 and 20,23)
    (("Finances\t10,1", "RH\t20,2", "Total\t30,35"), [("total.rounding", 10, "info", "30,35", "30,3")]),
    # a total to the unit over items to the tenth is rounded itself: 0,1 + 0,5
    (("Finances\t10,4", "RH\t20,4", "Total\t31"), [("total.rounding", 10, "info", "31", "30,8")]),
    (("Finances\t10,2", "RH\t20,1", "Total\t31"), [("total.column", 10, "error", "31", "30,3")]),
    # exact sums give nothing
    (("Finances\t10", "RH\t20", "Total\t30"), []),
])
def test_boundary_of_the_rounding_tolerance(tmp_path, rows, expected):
    assert summary(run(tmp_path, _report(*rows)), "total.column", "total.rounding") == expected


def test_the_message_of_a_rounding_gives_the_bound(tmp_path):
    df = run(tmp_path, _report("Finances\t100", "RH\t294", "Paie\t570", "Total\t965"))
    assert "arrondis des 3 lignes (écart possible : moins de 1,5)" in df["message"][0]


def test_a_column_total_of_two_columns_off_by_one_is_an_error(tmp_path):
    # the same bound across a row: « Total » = 2016 + 2017 (two whole figures)
    df = run(tmp_path, _report("Finances\t10\t20\t30", "RH\t5\t6\t12", "Paie\t1\t2\t3",
                               header="Domaine\t2016\t2017\tTotal"))
    assert summary(df, "total.row") == [("total.row", 9, "error", "12", "11")]


@pytest.mark.parametrize("units, unit, exact, bound", [
    ([1.0, 1.0], 1.0, False, 1.0),
    ([1.0] * 3, 1.0, False, 1.5),
    ([0.1, 0.1], 0.1, False, 0.1),
    ([0.1, 0.1], 0.01, False, 0.1),  # a finer total adds nothing
    ([0.01, 0.01], 1.0, False, 0.51),  # a coarser total adds its own half unit
    ([0.01, 1.0], 1.0, False, 0.505),  # not coarser than every item
    ([1.0, 1.0], 1.0, True, 0.0),  # a count
])
def test_rounding_bound(units, unit, exact, bound):
    assert rounding_bound(units, unit, exact) == pytest.approx(bound)
    tol = total_tolerance(units, unit, exact)
    # the bound itself is excluded, anything just below it accepted (a count: only float noise)
    assert tol < bound or (bound == 0 and tol == pytest.approx(1e-6))
    assert bound == 0 or tol == pytest.approx(bound - 1e-6)


def test_unknown_rounding_policy_is_a_french_error():
    with pytest.raises(ValueError, match="politique d'arrondi inconnue"):
        total_tolerance_sql("n", "u", "u", "false", arrondi="n+1")


@pytest.mark.parametrize("policy", [{}, {"arrondi": "exact"}])
def test_sql_tolerance_is_the_python_one(policy):
    """The metrics layer's SQL (n items all printed to one unit) gives the suite's tolerance."""
    con = duckdb.connect()
    for n in (1, 2, 3, 7):
        for u_items in (1.0, 0.1, 0.01):
            for u_total in (1.0, 0.1, 0.01):
                for exact in (False, True):
                    sql = total_tolerance_sql(str(n), repr(u_items), repr(u_total), str(exact).lower(), **policy)
                    got = con.execute(f"SELECT {sql}").fetchone()[0]
                    assert got == pytest.approx(total_tolerance([u_items] * n, u_total, exact, **policy)), (
                        n, u_items, u_total, exact)

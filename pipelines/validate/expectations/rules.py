"""Une attente Great Expectations par famille de règles du catalogue (pipelines/catalogue/regles.toml).

Each class names its rules, carries the rule's parameters as kwargs (written in the suites of
expectations/*.json) and judges a check row with a verdict of pipelines.validate.verdicts.
Qualitative rules (a header, a sentence, a series) are judged on what the builder saw (`statut`);
their `defauts` kwarg lists, in French, the defects they report.
"""

from __future__ import annotations

from typing import ClassVar

from pipelines import catalogue
from pipelines.validate import verdicts
from pipelines.validate.expectations.base import RuleExpectation


class ExpectTotalsToFoot(RuleExpectation):
    """A total (or sub-total, or « Total » column) is the sum of its items within their rounding.

    Items printed to the unit u stand for ±u/2 (DESIGN, after XBRL Calculations 1.1): a total of n
    items is consistent when |total − sum| < Σ u_i/2, plus u/2 for a total printed coarser than its
    items (`arrondi` « n*u/2 », verdicts.rounding_bound says why); counts (agents,
    tickets…) must add up exactly (`denombrements` « exact »). A gap within the tolerance but
    above `seuil_arrondi` is total.rounding (info); a blank total over valued items is
    value.missing. « dont » lines (`relation` « >= ») may add up to less than their line.
    """

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_totals_to_foot")
    template_fr: ClassVar[str] = catalogue.attente("expect_totals_to_foot").modele
    arrondi: str = "n*u/2"
    denombrements: str = "exact"
    epsilon: float = 1e-6
    seuil_arrondi: float = 1e-6
    columns: ClassVar[tuple[str, ...]] = ("valeur", "reference", "relation", "unites", "unite", "denombrement")

    def verdict(self, row):
        return verdicts.foot(row, self.arrondi, self.denombrements, self.epsilon, self.seuil_arrondi)


class ExpectPercentToMatchRatio(RuleExpectation):
    """A % column is réalisé / prévu (or the share of the column's total), each of the three
    printed figures taken within its rounding interval (`arrondi` « u/2 »)."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_percent_to_match_ratio")
    columns: ClassVar[tuple[str, ...]] = ("valeur", "unite", "numerateur", "unite_numerateur", "denominateur",
                                          "unite_denominateur")
    template_fr: ClassVar[str] = catalogue.attente("expect_percent_to_match_ratio").modele
    arrondi: str = "u/2"
    epsilon: float = 1e-6

    def verdict(self, row):
        return verdicts.ratio(row, self.arrondi, self.epsilon)


class StatusExpectation(RuleExpectation):
    """A qualitative rule: a row passes when the builder's `statut` is in `statuts_acceptes`."""

    columns: ClassVar[tuple[str, ...]] = ("statut",)
    statuts_acceptes: list[str] = ["ok"]  # noqa: RUF012 — a pydantic field, copied per instance
    defauts: dict[str, str] = {}  # noqa: RUF012

    @classmethod
    def description_fr(cls, kwargs=None):
        text = super().description_fr(kwargs)
        defects = (kwargs or {}).get("defauts") or cls.__fields__["defauts"].default
        return text + (" ; défauts signalés : " + " ; ".join(defects.values()) if defects else "")

    def verdict(self, row):
        return verdicts.status(row, self.statuts_acceptes)


class ExpectYearHeadersToBeWellFormed(StatusExpectation):
    """Year headers: well typed (« 2 021 »), not later than the report, not duplicated, in
    sequence, and not shifted by a year against the previous report."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_year_headers_to_be_well_formed")
    template_fr: ClassVar[str] = catalogue.attente("expect_year_headers_to_be_well_formed").modele


class ExpectHeaderLabelsToBeMeaningful(StatusExpectation):
    """Column titles: no spreadsheet placeholder (« Colonne1 »), dates that agree within a table."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_header_labels_to_be_meaningful")
    template_fr: ClassVar[str] = catalogue.attente("expect_header_labels_to_be_meaningful").modele


class ExpectNumbersToBeReadable(StatusExpectation):
    """Every number printed in a table or in the prose can be read as printed."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_numbers_to_be_readable")
    template_fr: ClassVar[str] = catalogue.attente("expect_numbers_to_be_readable").modele


class ExpectNarrativeYearsToMatchReport(StatusExpectation):
    """The prose compares with the right year, and dates a figure as the earlier reports do."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_narrative_years_to_match_report")
    template_fr: ClassVar[str] = catalogue.attente("expect_narrative_years_to_match_report").modele


class ExpectNarrativeFiguresToMatchTables(StatusExpectation):
    """A figure cited in the prose agrees with the table it describes (to the cent when both
    are printed to the cent; « environ » and round tens are not typos)."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_narrative_figures_to_match_tables")
    template_fr: ClassVar[str] = catalogue.attente("expect_narrative_figures_to_match_tables").modele


class ExpectStatedChangesToMatchFigures(RuleExpectation):
    """A stated change (« +48 % ») lies in the interval the rounded figures give; the builder
    computes the gap outside that interval (`ecart`), the suite holds the margin."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_stated_changes_to_match_figures")
    columns: ClassVar[tuple[str, ...]] = ("ecart",)
    template_fr: ClassVar[str] = catalogue.attente("expect_stated_changes_to_match_figures").modele
    epsilon: float = 1e-6

    def verdict(self, row):
        return verdicts.within(row, self.epsilon)


class ExpectFiguresToMatchEarlierReports(StatusExpectation):
    """The same figure of the same year is the same in every report (tables and prose, same
    subject and measure), and a block is not copied unchanged while its year moves on."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_figures_to_match_earlier_reports")
    template_fr: ClassVar[str] = catalogue.attente("expect_figures_to_match_earlier_reports").modele


class ExpectOneReportPerYear(StatusExpectation):
    """One report per organisme and report year: of two, the metrics and the cross-report checks read
    the last by document_id only (a re-issue replaces the report it corrects); pipelines/validate/
    duplicates.py names them in the finding."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_one_report_per_year")
    template_fr: ClassVar[str] = catalogue.attente("expect_one_report_per_year").modele


class ExpectBudgetSectionsToBalance(RuleExpectation):
    """Voted prévisions of recettes and dépenses of a section are equal, within `tolerance` euros."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_budget_sections_to_balance")
    columns: ClassVar[tuple[str, ...]] = ("valeur", "reference")
    template_fr: ClassVar[str] = catalogue.attente("expect_budget_sections_to_balance").modele
    tolerance: float = 0.01

    def verdict(self, row):
        return verdicts.balance(row, self.tolerance)


class ExpectTablesToAgree(RuleExpectation):
    """Two tables of a report that must agree do (detail against summary, chapter 74 against the
    revenue by adhérent); each pairing brings its own rounding tolerance (`tolerance` column)."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_tables_to_agree")
    columns: ClassVar[tuple[str, ...]] = ("ecart", "tolerance")
    template_fr: ClassVar[str] = catalogue.attente("expect_tables_to_agree").modele

    def verdict(self, row):
        return verdicts.within(row)


class ExpectSeriesToStayComparable(StatusExpectation):
    """A series keeps its name, measure and perimeter from one report to the next.

    pipelines/validate/series.py reads the parameters from the suite: a vanished label and a new
    one are « the same figures » within `ecart_renommage` in one common year and `ecart_reprise`
    in every other (restated years); a total's change is « made of » categories entering or
    leaving when they account for at least `part_expliquee` of it.
    """

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_series_to_stay_comparable")
    template_fr: ClassVar[str] = catalogue.attente("expect_series_to_stay_comparable").modele
    ecart_renommage: float = 0.02
    ecart_reprise: float = 0.10
    part_expliquee: float = 0.5


class ExpectPublicationsToMatchMetrics(RuleExpectation):
    """A figure the workbench publishes equals its metric in the store (view `metriques`), and a total
    it shows equals the sum of the parts it shows under it, unless the page says why (`motif`).

    A figure whose metric the view declares but has no value for is a warning (publication.metric):
    the page shows a number the metrics layer does not give.
    """

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_publications_to_match_metrics")
    columns: ClassVar[tuple[str, ...]] = ("statut", "valeur", "reference")
    template_fr: ClassVar[str] = catalogue.attente("expect_publications_to_match_metrics").modele
    epsilon: float = 0.005

    def verdict(self, row):
        return verdicts.published(row, self.epsilon)


class ExpectPublicationsToBeConsistent(StatusExpectation):
    """One value per figure across every page and the briefing; a chart's title years are the years it
    draws, and no drawn point is empty."""

    rules: ClassVar[tuple[str, ...]] = catalogue.regles_de("expect_publications_to_be_consistent")
    template_fr: ClassVar[str] = catalogue.attente("expect_publications_to_be_consistent").modele

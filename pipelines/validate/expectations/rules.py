"""Une attente Great Expectations par famille de règles du catalogue (DESIGN.md).

Each class names its rules, carries the rule's parameters as kwargs (written in the suites of
expectations/*.json) and judges a check row with a verdict of pipelines.validate.verdicts.
Qualitative rules (a header, a sentence, a series) are judged on what the builder saw (`statut`);
their `defauts` kwarg lists, in French, the defects they report.
"""

from __future__ import annotations

from typing import ClassVar

from pipelines.validate import verdicts
from pipelines.validate.expectations.base import RuleExpectation


class ExpectTotalsToFoot(RuleExpectation):
    """A total (or sub-total, or « Total » column) is the sum of its items within their rounding.

    Items printed to the unit u stand for ±u/2 (XBRL Calculations 1.1): a total of n items is
    consistent when |total − sum| ≤ Σ u_i/2 + u/2 (`arrondi` « n*u/2 »); counts (agents,
    tickets…) must add up exactly (`denombrements` « exact »). A gap within the tolerance but
    above `seuil_arrondi` is total.rounding (info); a blank total over valued items is
    value.missing. « dont » lines (`relation` « >= ») may add up to less than their line.
    """

    rules: ClassVar[tuple[str, ...]] = ("total.column", "total.row", "total.rounding", "value.missing")
    template_fr: ClassVar[str] = (
        "Les totaux doivent être la somme de leurs lignes, à l'arrondi près ({arrondi}) : n lignes imprimées "
        "à l'unité u et leur total peuvent s'écarter de n·u/2 + u/2 ; les dénombrements (agents, tickets…) "
        "doivent tomber juste ({denombrements}). Un écart dans la tolérance est une information "
        "(total.rounding), un total vide sur des lignes renseignées une erreur (value.missing)")
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

    rules: ClassVar[tuple[str, ...]] = ("percent.ratio",)
    columns: ClassVar[tuple[str, ...]] = ("valeur", "unite", "numerateur", "unite_numerateur", "denominateur",
                                          "unite_denominateur")
    template_fr: ClassVar[str] = (
        "Une colonne de pourcentage doit valoir réalisé / prévu, ou la part du total de sa colonne, "
        "chaque chiffre imprimé pris à l'arrondi près ({arrondi})")
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

    rules: ClassVar[tuple[str, ...]] = ("header.year",)
    template_fr: ClassVar[str] = "Les années des en-têtes de colonnes doivent être bien saisies et à leur place"


class ExpectHeaderLabelsToBeMeaningful(StatusExpectation):
    """Column titles: no spreadsheet placeholder (« Colonne1 »), dates that agree within a table."""

    rules: ClassVar[tuple[str, ...]] = ("header.label",)
    template_fr: ClassVar[str] = "Les en-têtes de colonnes doivent être de vrais titres, aux dates concordantes"


class ExpectNumbersToBeReadable(StatusExpectation):
    """Every number printed in a table or in the prose can be read as printed."""

    rules: ClassVar[tuple[str, ...]] = ("value.malformed",)
    template_fr: ClassVar[str] = "Chaque nombre imprimé doit pouvoir être lu tel quel"


class ExpectNarrativeYearsToMatchReport(StatusExpectation):
    """The prose compares with the right year, and dates a figure as the earlier reports do."""

    rules: ClassVar[tuple[str, ...]] = ("text.year",)
    template_fr: ClassVar[str] = "Le texte doit dater ses chiffres et ses comparaisons de la bonne année"


class ExpectNarrativeFiguresToMatchTables(StatusExpectation):
    """A figure cited in the prose agrees with the table it describes (to the cent when both
    are printed to the cent; « environ » and round tens are not typos)."""

    rules: ClassVar[tuple[str, ...]] = ("text.table",)
    template_fr: ClassVar[str] = "Un chiffre cité dans le texte doit être celui du tableau qu'il décrit"


class ExpectStatedChangesToMatchFigures(RuleExpectation):
    """A stated change (« +48 % ») lies in the interval the rounded figures give; the builder
    computes the gap outside that interval (`ecart`), the suite holds the margin."""

    rules: ClassVar[tuple[str, ...]] = ("text.percent",)
    columns: ClassVar[tuple[str, ...]] = ("ecart",)
    template_fr: ClassVar[str] = (
        "Une évolution annoncée dans le texte doit être celle que donnent les chiffres, "
        "à l'arrondi près des chiffres et du pourcentage (marge {epsilon})")
    epsilon: float = 1e-6

    def verdict(self, row):
        return verdicts.within(row, self.epsilon)


class ExpectFiguresToMatchEarlierReports(StatusExpectation):
    """The same figure of the same year is the same in every report (tables and prose, same
    subject and measure), and a block is not copied unchanged while its year moves on."""

    rules: ClassVar[tuple[str, ...]] = ("vintage.restated", "vintage.stale")
    template_fr: ClassVar[str] = "Un chiffre doit être le même d'un rapport à l'autre pour une même année"


class ExpectBudgetSectionsToBalance(RuleExpectation):
    """Voted prévisions of recettes and dépenses of a section are equal, within `tolerance` euros."""

    rules: ClassVar[tuple[str, ...]] = ("budget.balance",)
    columns: ClassVar[tuple[str, ...]] = ("valeur", "reference")
    template_fr: ClassVar[str] = (
        "Les prévisions de recettes et de dépenses de chaque section doivent s'équilibrer "
        "(tolérance {tolerance} €)")
    tolerance: float = 0.01

    def verdict(self, row):
        return verdicts.balance(row, self.tolerance)


class ExpectTablesToAgree(RuleExpectation):
    """Two tables of a report that must agree do (detail against summary, chapter 74 against the
    revenue by adhérent); each pairing brings its own rounding tolerance (`tolerance` column)."""

    rules: ClassVar[tuple[str, ...]] = ("crosstable",)
    columns: ClassVar[tuple[str, ...]] = ("ecart", "tolerance")
    template_fr: ClassVar[str] = (
        "Deux tableaux d'un même rapport qui donnent le même chiffre doivent concorder, à l'arrondi près")

    def verdict(self, row):
        return verdicts.within(row)


class ExpectSeriesToStayComparable(StatusExpectation):
    """A series keeps its name, measure and perimeter from one report to the next.

    pipelines/validate/series.py reads the parameters from the suite: a vanished label and a new
    one are « the same figures » within `ecart_renommage` in one common year and `ecart_reprise`
    in every other (restated years); a total's change is « made of » categories entering or
    leaving when they account for at least `part_expliquee` of it.
    """

    rules: ClassVar[tuple[str, ...]] = ("series.break",)
    template_fr: ClassVar[str] = (
        "Une série doit garder son nom, sa mesure et son périmètre d'un rapport à l'autre (renommage : "
        "chiffres à {ecart_renommage} près, {ecart_reprise} pour une année reprise ; périmètre : catégories "
        "entrées ou sorties expliquant au moins {part_expliquee} de l'évolution d'un total)")
    ecart_renommage: float = 0.02
    ecart_reprise: float = 0.10
    part_expliquee: float = 0.5


class ExpectPublicationsToMatchMetrics(RuleExpectation):
    """A figure the workbench publishes equals its metric in the store (view `metriques`), and a total
    it shows equals the sum of the parts it shows under it, unless the page says why (`motif`).

    A figure whose metric the view declares but has no value for is a warning (publication.metric):
    the page shows a number the metrics layer does not give.
    """

    rules: ClassVar[tuple[str, ...]] = ("publication.metric", "publication.total")
    columns: ClassVar[tuple[str, ...]] = ("statut", "valeur", "reference")
    template_fr: ClassVar[str] = (
        "Chaque chiffre publié (page d'analyse, briefing) doit valoir sa métrique dans le magasin, et un total "
        "montré la somme des parties montrées sous lui, sauf motif donné (écart toléré : {epsilon})")
    epsilon: float = 0.005

    def verdict(self, row):
        return verdicts.published(row, self.epsilon)


class ExpectPublicationsToBeConsistent(StatusExpectation):
    """One value per figure across every page and the briefing; a chart's title years are the years it
    draws, and no drawn point is empty."""

    rules: ClassVar[tuple[str, ...]] = ("publication.unique", "publication.title", "publication.null")
    template_fr: ClassVar[str] = (
        "Un même chiffre (métrique, organisme, adhérent, exercice, pôle, détail) n'a qu'une valeur sur toutes "
        "les pages et le briefing ; le titre d'un graphique annonce les années qu'il dessine ; aucun point "
        "dessiné n'est vide")

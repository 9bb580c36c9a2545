"""Attentes Great Expectations de l'atelier (importer ce paquet les enregistre auprès de GE).

Importing this package imports great_expectations: do it lazily (suites._context).
"""

from pipelines.validate.expectations.base import CheckRows, RuleExpectation
from pipelines.validate.expectations.rules import (
    ExpectBudgetSectionsToBalance,
    ExpectFiguresToMatchEarlierReports,
    ExpectHeaderLabelsToBeMeaningful,
    ExpectNarrativeFiguresToMatchTables,
    ExpectNarrativeYearsToMatchReport,
    ExpectNumbersToBeReadable,
    ExpectPercentToMatchRatio,
    ExpectPublicationsToBeConsistent,
    ExpectPublicationsToMatchMetrics,
    ExpectSeriesToStayComparable,
    ExpectStatedChangesToMatchFigures,
    ExpectTablesToAgree,
    ExpectTotalsToFoot,
    ExpectYearHeadersToBeWellFormed,
)

__all__ = [
    "CheckRows", "RuleExpectation", "ExpectBudgetSectionsToBalance", "ExpectFiguresToMatchEarlierReports",
    "ExpectHeaderLabelsToBeMeaningful", "ExpectNarrativeFiguresToMatchTables", "ExpectNarrativeYearsToMatchReport",
    "ExpectNumbersToBeReadable", "ExpectPercentToMatchRatio", "ExpectPublicationsToBeConsistent",
    "ExpectPublicationsToMatchMetrics", "ExpectSeriesToStayComparable",
    "ExpectStatedChangesToMatchFigures", "ExpectTablesToAgree", "ExpectTotalsToFoot",
    "ExpectYearHeadersToBeWellFormed",
]

"""Attentes Great Expectations de l'atelier (importer ce paquet les enregistre auprès de GE).

Importing this package imports great_expectations (seconds): suites.py imports it, and the modules
that only read the suite files (suite_specs.py, verdicts.py) do not. A GE user registers the
workbench's expectations with `import pipelines.validate.expectations` (README, « La voie GE »).
"""

from pipelines.validate.expectations.base import CheckRows, RuleExpectation
from pipelines.validate.expectations.rules import (
    ExpectBudgetSectionsToBalance,
    ExpectFiguresToMatchEarlierReports,
    ExpectHeaderLabelsToBeMeaningful,
    ExpectNarrativeFiguresToMatchTables,
    ExpectNarrativeYearsToMatchReport,
    ExpectNumbersToBeReadable,
    ExpectOneReportPerYear,
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
    "ExpectNumbersToBeReadable", "ExpectOneReportPerYear", "ExpectPercentToMatchRatio", "ExpectPublicationsToBeConsistent",
    "ExpectPublicationsToMatchMetrics", "ExpectSeriesToStayComparable",
    "ExpectStatedChangesToMatchFigures", "ExpectTablesToAgree", "ExpectTotalsToFoot",
    "ExpectYearHeadersToBeWellFormed",
]

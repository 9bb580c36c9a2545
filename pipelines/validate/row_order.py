"""The order of a suite's check rows before GE numbers them (check_id), shared by the suites, which
number them, and the stored results, which cut GE's results per document by those numbers. A module of
its own (pandas only): the stored results are read by the expectations, which the suites import."""

from __future__ import annotations

import pandas as pd

# What orders the check rows of a suite before they are numbered (check_id): the rules give them in
# the order of their queries and threads, which may vary; GE's results and Data Docs list flagged rows
# in check_id order, so two builds of the same corpus write the same results.
ROW_ORDER = ("document_id", "line", "table_id", "rule", "found", "expected", "message")


def in_order(df: pd.DataFrame) -> pd.DataFrame:
    """The rows sorted by ROW_ORDER (the columns it has; numbers as numbers, the rest as their text,
    missing values first), stably, index reset: the order of pandas' ``sort_values(…, kind="stable",
    na_position="first", key=<text unless numeric>)``, computed in Python (a few hundred rows: pandas
    cost 10 ms a suite to map its keys, a tenth of a --watch re-check)."""
    by = [c for c in ROW_ORDER if c in df.columns]
    if not by:
        return df.reset_index(drop=True)
    keys = [_sort_keys(df[c]) for c in by]
    order = sorted(range(len(df)), key=lambda i: tuple(k[i] for k in keys))
    if order == list(range(len(df))):  # already in order: no copy of the rows
        return df.reset_index(drop=True)
    return df.iloc[order].reset_index(drop=True)


def _sort_keys(column: pd.Series) -> list[tuple]:
    """One sort key per value: (0,) when missing, else (1, the number) or (1, its text as
    ``astype(str)`` gives it: an integer of an object column is compared as text)."""
    numeric = column.dtype.kind in "iuf"
    return [(0,) if missing else (1, v if numeric else str(v))
            for v, missing in zip(column.tolist(), column.isna().tolist(), strict=True)]

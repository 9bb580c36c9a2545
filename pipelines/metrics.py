"""Couche de métriques : chaque chiffre publié, déclaré une fois (data/referentiels/metriques.toml).

The declarations become DuckDB views at `bilans build` (`create_metric_views`, called by
curate/views.py `create_views`):

- `metriques_millesimes` (a table computed at build): one row per metric value and per report that
  prints it (every vintage), with its vintage key `serie`; one report per (org, report_year) feeds
  it: when the store holds several (a corrected re-issue, a generated corpus), the last by
  document_id, the order in which the cross-report checks take them (validate/points.py `rang`),
  never their sum;
- `metriques`: the value each metric takes under the project's one vintage rule, the most recent
  report that prints the metric for that exercice (and pôle, adhérent when they are not the
  metric's breakdown); columns of METRICS_CONTRACT: metrique, libelle, org, exercice, adherent,
  pole, detail, valeur, unite, report_year, niveau, sources;
- `metrique_<nom>`: the rows of `metriques` for one metric.

Level rule (metriques.toml, head): inside one block of one report (a table, an axis) the items are
the rows of niveau `detail`; the metric's total is the printed total (`total`/`sous_total` row)
that foots with the sum of the items within rounding (the n·u/2 rule of expectations/totaux.json),
or with the items read one level finer (an item with sub-items as their sum), a `total` row before a
`sous_total` (the outermost: a sub-total adds a part of the items), niveau `total_imprime`; else the sum of the items, niveau `somme_des_postes`; the items themselves
have niveau `poste`. A printed total is never added to its items, a sub-item never to its item.

Python API: `declarations()`, `usage(name)`, `valeurs(con, metrique, ...)`, `create_metric_views(con)`.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pipelines import catalogue
from pipelines.errors import BilansError

DECLARATIONS = catalogue.METRIQUES  # data/referentiels/metriques.toml, named by the catalogue
COLUMNS = ("metrique", "libelle", "org", "exercice", "adherent", "pole", "detail", "valeur", "unite",
           "report_year", "niveau", "sources")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Metrique:
    """One declared metric (a [[metrique]] block of metriques.toml; see the file's head for fields)."""

    nom: str
    libelle: str
    famille: str
    mesure: str
    valeur: str
    unite: str
    postes: str  # output column of the items: "detail" or "adherent"
    poste: str
    filtre: str = "true"
    adherent: str | None = None
    pole: str | None = None
    niveau: str = "niveau"
    bloc: str = "table_id"
    blocs: tuple[str, ...] = field(default_factory=tuple)
    denombrement: bool = False
    rubrique: str = ""  # the heading pages group the metric under (« Investissement — dépenses »)
    axe: str = ""  # activity: the analysis axis whose rows are the items (the filter follows)
    cle_mesure: str = ""  # the measure's code (realise, realise_reports, total, cotisation …)

    @property
    def vue(self) -> str:
        return f"metrique_{self.nom}"

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The columns of `metriques` this metric fills besides org and exercice, e.g. ("pole", "detail")."""
        dims = [d for d, expr in (("adherent", self.adherent), ("pole", self.pole)) if expr]
        return tuple(dict.fromkeys([*dims, self.postes]))


@cache
def declarations(path: Path = DECLARATIONS) -> dict[str, Metrique]:
    """name -> Metrique, in the file's order. Raises BilansError (one French line) on a bad file."""
    try:
        with open(path, "rb") as fh:
            blocks = tomllib.load(fh).get("metrique", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BilansError(f"déclarations de métriques illisibles ({path}) : {exc}") from exc
    out: dict[str, Metrique] = {}
    for block in blocks:
        if block.get("axe") and "filtre" not in block:
            block = {**block, "filtre": f"axe = {_quote(block['axe'])}"}
        try:
            m = Metrique(**{**block, "blocs": tuple(block.get("blocs", ()))})
        except TypeError as exc:
            raise BilansError(f"métrique mal déclarée dans {path.name} : {block.get('nom', '?')} ({exc})") from exc
        if not _NAME.match(m.nom) or m.nom in out:
            raise BilansError(f"nom de métrique invalide ou en double dans {path.name} : {m.nom}")
        if m.postes not in ("detail", "adherent"):
            raise BilansError(f"métrique {m.nom} : postes = « {m.postes} » (attendu : detail ou adherent)")
        out[m.nom] = m
    return out


def dernier_millesime(partition: str, order: str = "report_year") -> str:
    """The project's one vintage rule as a SQL clause: among the rows of one key (`partition`, a
    list of columns), those of the most recent report that prints it. Used by the views
    `<famille>_latest`, by the analyses (rows up to the year of a report) and by `metriques`."""
    return f"QUALIFY rank() OVER (PARTITION BY {partition} ORDER BY {order} DESC) = 1"


@cache
def usage(name: str, path: Path = DECLARATIONS) -> tuple[str, ...]:
    """The metrics a use names in the [usages] table of metriques.toml (« contributions »: the
    measures of a member's contribution, in order of preference). Raises BilansError if unknown."""
    with open(path, "rb") as fh:
        usages = tomllib.load(fh).get("usages", {})
    if name not in usages or any(m not in declarations(path) for m in usages[name]):
        raise BilansError(f"usage de métriques inconnu ou mal déclaré dans {path.name} : {name}")
    return tuple(usages[name])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _unit_sql(v: str) -> str:
    """The unit a figure is printed to (1, 0.1 or 0.01), read from its value."""
    return (f"CASE WHEN abs({v} - round({v})) < 1e-9 THEN 1.0 "
            f"WHEN abs({v} * 10 - round({v} * 10)) < 1e-6 THEN 0.1 ELSE 0.01 END")


def _source_sql(m: Metrique, rows: dict[str, str] | None = None) -> str:
    """The rows one metric reads, in the common shape: the group's adherent (NULL when the
    adhérents are the items), the item's label, the level, the block and its declared rank.
    `rows`: family -> the relation read in its place (some of its rows: see `_changed_rows`)."""
    group_adherent = "NULL" if m.postes == "adherent" else (m.adherent or "NULL")
    rank = "list_position([" + ", ".join(map(_quote, m.blocs)) + "], bloc)" if m.blocs else "NULL"
    family = (rows or {}).get(m.famille, f'"{m.famille}"')
    return f"""
        SELECT *, CAST({rank} AS INTEGER) AS rang FROM (
        SELECT {_quote(m.nom)} AS metrique, org, CAST(exercice AS INTEGER) AS exercice,
               CAST(report_year AS INTEGER) AS report_year, CAST({m.pole or 'NULL'} AS VARCHAR) AS pole,
               CAST({group_adherent} AS VARCHAR) AS g_adherent,
               CAST(CASE WHEN lvl = 'detail' THEN {m.poste} END AS VARCHAR) AS poste,
               {_quote(m.postes)} AS postes, valeur, lvl, CAST({m.bloc} AS VARCHAR) AS bloc,
               document_id, document_id || ':' || line AS src, line, {str(m.denombrement).lower()} AS denombrement
        FROM (SELECT *, {m.niveau} AS lvl, CAST({m.valeur} AS DOUBLE) AS valeur FROM {family} _fam
              WHERE ({m.filtre}))
        WHERE valeur IS NOT NULL AND exercice IS NOT NULL)"""


_KEY = "metrique, org, report_year, exercice, pole, g_adherent"
# a sum of DOUBLE in a fixed order (the values sorted): the same bits at every computation
_SUM = "list_sum(list({0} ORDER BY {0}))"


def _metrics_sql(metrics: list[Metrique], rows: dict[str, str] | None = None) -> str:
    """Every vintage of every metric: items and total per (org, report, exercice, pôle, adhérent);
    `rows`: family -> the relation read in its place (see `_changed_rows`).

    One report per (org, report_year): of the documents whose rows the metrics read, the last by
    document_id (the order of the cross-report checks, validate/points.py `rang`: year, then
    document_id), so a corrected re-issue supersedes the report it corrects and two reports of one
    year are never added. Every ORDER BY is total and every DOUBLE sum ordered: the same store gives
    the same rows."""
    sources = " UNION ALL ".join(_source_sql(m, rows) for m in metrics)
    labels = " UNION ALL ".join(f"SELECT {_quote(m.nom)} AS metrique, {_quote(m.libelle)} AS libelle, "
                                f"{_quote(m.unite)} AS unite" for m in metrics)
    return f"""
    WITH lus AS MATERIALIZED (SELECT * FROM ({sources})),
    src AS (
        -- a join on each (org, report_year)'s last document: a window over a few large partitions
        -- (many reports of one year) costs several times more
        SELECT r.* FROM lus r SEMI JOIN (SELECT org, report_year, max(document_id) AS document_id FROM lus GROUP BY ALL) d
            ON d.org IS NOT DISTINCT FROM r.org AND d.report_year IS NOT DISTINCT FROM r.report_year
           AND d.document_id = r.document_id
    ),
    lignes AS (
        -- each sub-item (an article under its chapter) with the line of the item above it
        SELECT *, max(line) FILTER (WHERE lvl = 'detail') OVER (
                   PARTITION BY {_KEY}, bloc ORDER BY line ROWS UNBOUNDED PRECEDING) AS parent
        FROM src WHERE lvl IN ('detail', 'sous_detail')
    ),
    fins AS (
        -- the items read one level finer, an item with sub-items as their sum: a printed total foots
        -- with either reading (a chapter misprinted 0,00 above its articles does not hide the grand
        -- total that adds the articles)
        SELECT {_KEY}, bloc, {_SUM.format('valeur')} AS fine
        FROM (SELECT * FROM lignes WHERE lvl = 'sous_detail' AND parent IS NOT NULL
              UNION ALL
              SELECT * FROM lignes l WHERE lvl = 'detail' AND NOT EXISTS (
                  SELECT 1 FROM lignes c WHERE c.lvl = 'sous_detail' AND c.parent = l.line
                     AND c.metrique = l.metrique AND c.org = l.org AND c.report_year = l.report_year
                     AND c.exercice = l.exercice AND c.pole IS NOT DISTINCT FROM l.pole
                     AND c.g_adherent IS NOT DISTINCT FROM l.g_adherent AND c.bloc IS NOT DISTINCT FROM l.bloc))
        GROUP BY ALL
    ),
    postes AS (
        SELECT {_KEY}, bloc, poste, postes, any_value(rang) AS rang, any_value(denombrement) AS denombrement,
               {_SUM.format('valeur')} AS valeur, string_agg(src, ', ' ORDER BY line, src) AS sources,
               min(line) AS line,
               min({_unit_sql('valeur')}) AS u, count(*) AS n
        FROM src WHERE lvl = 'detail' GROUP BY ALL
    ),
    somme AS (
        SELECT {_KEY}, bloc, 's' AS kind, any_value(rang) AS rang, any_value(denombrement) AS denombrement,
               {_SUM.format('valeur')} AS valeur, string_agg(sources, ', ' ORDER BY line, sources) AS sources,
               min(line) AS line,
               min(u) AS u, sum(n) AS n
        FROM postes GROUP BY ALL
    ),
    candidats AS (
        SELECT *, max(valeur) FILTER (WHERE kind = 's') OVER w AS s_valeur, max(fine) OVER w AS f_valeur,
               max(n) FILTER (WHERE kind = 's') OVER w AS s_n, min(u) FILTER (WHERE kind = 's') OVER w AS s_u
        FROM (SELECT * FROM somme
              UNION ALL BY NAME
              SELECT {_KEY}, bloc, 't' AS kind, rang, denombrement, valeur, src AS sources, line,
                     {_unit_sql('valeur')} AS u, 0 AS n, lvl = 'total' AS englobant
              FROM src WHERE lvl IN ('total', 'sous_total')
              UNION ALL BY NAME
              SELECT *, 'f' AS kind FROM fins)
        WINDOW w AS (PARTITION BY {_KEY}, bloc)
    ),
    totaux AS (
        -- per block: the first printed total that foots with its items, a total before a sub-total (the
        -- outermost: a sub-total adds a part of the items, equal to their sum only when the other parts
        -- are empty or misprinted), else the sum of the items; a block with a printed total and no item
        -- keeps its printed total
        SELECT *, kind = 't' AND s_valeur IS NOT NULL
                  AND (abs(valeur - s_valeur) <= {_tolerance_sql()}
                       OR abs(valeur - f_valeur) <= {_tolerance_sql()}) AS tombe
        FROM candidats WHERE kind <> 'f'
        QUALIFY row_number() OVER (PARTITION BY {_KEY}, bloc
                                   ORDER BY tombe DESC, kind = 's' DESC, englobant DESC, line, valeur, sources) = 1
    ),
    choix AS (
        -- one block per total: a block whose printed total foots, then the declared order of blocks
        SELECT {_KEY}, bloc, valeur, CASE WHEN kind = 's' THEN 'somme_des_postes' ELSE 'total_imprime' END AS niveau,
               sources FROM totaux
        QUALIFY row_number() OVER (PARTITION BY {_KEY} ORDER BY tombe DESC, rang NULLS LAST, line, bloc DESC NULLS LAST) = 1
    ),
    valeurs AS (
        SELECT {_KEY}, g_adherent AS adherent, NULL AS detail, valeur, niveau, sources FROM choix
        UNION ALL
        SELECT p.metrique, p.org, p.report_year, p.exercice, p.pole, p.g_adherent,
               CASE WHEN p.postes = 'adherent' THEN p.poste ELSE p.g_adherent END,
               CASE WHEN p.postes = 'detail' THEN p.poste END, p.valeur, 'poste', p.sources
        FROM postes p JOIN choix c
          ON p.metrique = c.metrique AND p.org = c.org AND p.report_year = c.report_year
         AND p.exercice = c.exercice AND p.pole IS NOT DISTINCT FROM c.pole
         AND p.g_adherent IS NOT DISTINCT FROM c.g_adherent AND p.bloc IS NOT DISTINCT FROM c.bloc
    )
    -- serie: the vintage key; a metric's figures for one exercice (and pôle, adhérent when they are
    -- not its items) come from one report, items and total alike
    SELECT v.metrique, l.libelle, v.org, v.exercice, v.adherent, v.pole, v.detail, v.valeur, l.unite,
           v.report_year, v.niveau, v.sources,
           concat_ws('|', v.metrique, v.org, v.exercice, coalesce(v.pole, ''), coalesce(v.g_adherent, '')) AS serie
    FROM valeurs v JOIN ({labels}) l USING (metrique)"""


def _tolerance_sql() -> str:
    """Whether a printed total foots its items: the suite's own tolerance (verdicts.total_tolerance_sql,
    the kwargs of expectations/totaux.json), so a metric takes a printed total exactly when the checks
    do not call it wrong. A unit read back from a value cannot see printed zeros (« 31,00 » reads as
    31): the items' finest unit stands for all of them, and a total is never taken as printed coarser
    than its items (least), which would widen the tolerance; a coarser total then gives the sum of its
    items, the finer figure."""
    from pipelines.validate.verdicts import total_tolerance_sql, totals_policy  # not pandas at import

    return total_tolerance_sql("s_n", "s_u", "least(s_u, u)", "denombrement", **totals_policy())


def _present(con) -> set[str]:
    """The names of the tables and views `con` sees (one query for every metric's family)."""
    return {t for (t,) in con.execute("SELECT DISTINCT table_name FROM information_schema.tables").fetchall()}


def create_metric_views(con, path: Path = DECLARATIONS, previous: tuple[str | None, str] | None = None) -> None:
    """Table `metriques_millesimes`, views `metriques` and one `metrique_<nom>` per declared metric
    (a metric whose family the store lacks has an empty view).

    `previous`: (an attached store, a relation of the (org, report_year) whose curated rows changed
    since it was built): the rows of the other reports are copied from its table when it was computed
    by the same SQL (its digest, the table's comment). Exact: every group, window and join of the
    level rule is within one (org, report_year) (_KEY; the choice of its one report too), so the rows of
    one depend on its curated rows only. A store None: `con` is itself a copy of that store (an
    incremental build's seed, pipelines/flow.py `seed_plan`), whose table keeps the rows of the other
    reports in place: those of the changed ones only are deleted and computed again."""
    present = _present(con)
    metrics = [m for m in declarations(path).values() if m.famille in present]
    cols = ", ".join(COLUMNS)
    if metrics:
        body = _metrics_sql(metrics)
    else:
        body = "SELECT " + ", ".join(f"NULL AS {c}" for c in COLUMNS) + ", NULL AS serie WHERE false"
    digest = hashlib.sha256(f"{cols}\n{body}".encode()).hexdigest()[:16]
    if previous is not None and metrics and _computed_by(con, previous[0]) == digest:
        schema, changed = previous
        with _changed_rows(con, metrics, changed) as rows:
            redone = f"SELECT {cols}, serie FROM ({_metrics_sql(metrics, rows)})"
            if schema is None:
                con.execute(f"DELETE FROM metriques_millesimes m WHERE EXISTS (SELECT 1 FROM {changed} c WHERE "
                            "c.org IS NOT DISTINCT FROM m.org AND c.report_year IS NOT DISTINCT FROM m.report_year)")
                con.execute(f"INSERT INTO metriques_millesimes {redone}")
            else:
                _create_table(con, digest, f"SELECT {cols}, serie FROM {schema}.metriques_millesimes m"
                                           f"{_reports_in('ANTI', changed, 'm')} UNION ALL {redone}")
    else:
        _create_table(con, digest, f"SELECT {cols}, serie FROM ({body})")
    con.execute(f"CREATE OR REPLACE VIEW metriques AS SELECT {cols} FROM metriques_millesimes "
                f"{dernier_millesime('serie')}")
    for m in declarations(path).values():
        con.execute(f"CREATE OR REPLACE VIEW {m.vue} AS SELECT * FROM metriques WHERE metrique = {_quote(m.nom)}")


def _create_table(con, digest: str, source: str) -> None:
    """`metriques_millesimes` as the rows of `source`, computed by the SQL of `digest` (its comment)."""
    # computed once per build (a table, the views read it): the level rule is a few window passes
    # over every curated row, too slow to re-run at each query of a page
    kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'metriques_millesimes'"
                       ).fetchone()
    if kind and kind[0] == "VIEW":  # a store of an earlier version of this module
        con.execute("DROP VIEW metriques_millesimes")
    con.execute(f"CREATE OR REPLACE TABLE metriques_millesimes AS {source}")
    con.execute(f"COMMENT ON TABLE metriques_millesimes IS {_quote(digest)}")


@contextlib.contextmanager
def _changed_rows(con, metrics: list[Metrique], changed: str):
    """family -> a temporary table of its rows of the (org, report_year) of the relation `changed`, for
    the block: the metrics of these reports are computed from them (a join inside each of the metrics'
    sources would cost more to plan than the whole computation of one report)."""
    rows = {}
    try:
        for family in dict.fromkeys(m.famille for m in metrics):
            rows[family] = f'"_metriques_{family}"'
            con.execute(f'CREATE OR REPLACE TEMPORARY TABLE {rows[family]} AS SELECT * FROM "{family}" _fam'
                        f"{_reports_in('SEMI', changed, '_fam')}")
        yield rows
    finally:
        for table in rows.values():
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _reports_in(join: str, changed: str, alias: str) -> str:
    """A SEMI (or ANTI) join keeping the rows `alias` whose (org, report_year) is (or is not) one of the
    relation `changed` (NULL matching NULL)."""
    return (f" {join} JOIN {changed} c ON c.org IS NOT DISTINCT FROM {alias}.org "
            f"AND c.report_year IS NOT DISTINCT FROM {alias}.report_year")


def _computed_by(con, schema: str | None) -> str | None:
    """The digest of the SQL that computed `metriques_millesimes` in the attached store `schema` (None:
    in the store of `con`); None when there is none, or a table of before the digest."""
    rows = con.execute("SELECT comment FROM duckdb_tables() WHERE database_name = coalesce(?, current_database()) "
                       "AND schema_name = 'main' AND table_name = 'metriques_millesimes'", [schema]).fetchall()
    return rows[0][0] if rows else None


_ANY = object()


def valeurs(con, metrique: str, *, org: str | None = None, exercice: int | None = None,
            adherent: str | None = None, pole: str | None = None, detail=_ANY,
            jusqu_a: int | None = None):
    """Rows of `metriques` for one metric, as a pandas DataFrame with the columns of the view
    (ordered by org, exercice, adherent, pole, detail; the total first).

    detail: any row by default; None: the metric's totals only; a string: that item.
    jusqu_a: the value as of the report of that year (the most recent of the reports up to it),
    what the analysis pages of a report show; None: every report (the view `metriques`).
    Raises BilansError for an undeclared metric.
    """
    if metrique not in declarations():
        raise BilansError(f"métrique inconnue : {metrique} (déclarées : {', '.join(declarations())})")
    where, params = ["metrique = ?"], [metrique]
    for column, value in (("org", org), ("exercice", exercice), ("adherent", adherent), ("pole", pole)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if detail is None:
        where.append("detail IS NULL")
    elif detail is not _ANY:
        where.append("detail = ?")
        params.append(detail)
    if jusqu_a is None:
        source = "metriques"
    else:
        source = (f"(SELECT * EXCLUDE (serie) FROM metriques_millesimes WHERE report_year <= {int(jusqu_a)} "
                  f"{dernier_millesime('serie')})")
    sql = (f"SELECT {', '.join(COLUMNS)} FROM {source} WHERE {' AND '.join(where)} "
           "ORDER BY org, exercice, adherent NULLS FIRST, pole NULLS FIRST, detail NULLS FIRST")
    return con.execute(sql, params).df()

"""L'atelier contrôle ses propres publications : la table `publications` contre les métriques du magasin.

One check row per figure, key, total or chart of the register (pipelines/publish/registre.py); the suite
expectations/publications.json judges them (rules `publication.*`):

- publication.metric: a figure differs from its metric in the view `metriques` (same metrique, org,
  exercice, adhérent, pôle, detail). Only metrics the view declares are compared; derived figures (a
  change, a share, « autres ») are checked through the figures they come from.
- publication.unique: one key (metrique, org, adhérent, exercice, pôle, detail) shown with two values,
  on one page or across pages and the briefing.
- publication.total: a total shown is not the sum of the parts shown under it (`partie_de`), and the
  page does not say why (`motif`).
- publication.title: a chart's title claims years it does not draw; publication.null: a drawn point
  without a value.

The findings name the page and the element (no document line: the page is the workbench's own) and go
to `findings` with org, report_year (the page's year) and family « publications ».
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipelines.publish.fmt import pluriel
from pipelines.validate.frames import frame

FAMILY = "publications"
PAGES_SEP = "\n"  # between the pages of one finding (column `pages` of the check frame)
RULES = ("publication.metric", "publication.unique", "publication.total", "publication.title",
         "publication.null")


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "vide"
    return f"{float(v):,.2f}".replace(",", " ").replace(".", ",").removesuffix(",00")


def _row(rule: str, pub: dict, *, found: str, expected: str, message: str, statut: str = "ok",
         valeur: float | None = None, reference: float | None = None, pages: list[str] | None = None) -> dict:
    """A check row about `pub`'s element; `pages`: every page the finding is about (default: pub's)."""
    return {"rule": rule, "severity": "error", "statut": statut, "document_id": None, "line": None,
            "table_id": None, "found": found, "expected": expected, "message": message,
            "exercice": pub.get("exercice"), "family": FAMILY, "key": pub.get("cle"),
            "valeur": valeur, "reference": reference, "page": pub.get("page"), "element": pub.get("element"),
            "org": pub.get("org"), "pages": PAGES_SEP.join(pages or [pub.get("page") or ""])}


def _where(pub: dict) -> str:
    return f"{pub['page']}, « {pub['element']} »"


def millesime(con, pubs: pd.DataFrame) -> pd.Series:
    """The report a page's figures are « as of »: the bilan of an analysis page (a 2018 page does not
    change when the 2022 report restates 2017), the organisme's latest report for the briefing."""
    latest = dict(con.execute("SELECT org, max(report_year) FROM documents GROUP BY org").fetchall())
    years = pubs["page"].map(_page_year)
    briefing = pubs["page"].str.startswith("briefing/")
    return years.where(~briefing, pubs["org"].map(latest)).astype("Int64")


def metric_checks(con, pubs: pd.DataFrame) -> list[dict]:
    """Each figure of a declared metric against the metric's value as of the page's report (the most
    recent report up to it that prints the metric, table `metriques_millesimes`)."""
    present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "metriques_millesimes" not in present or pubs.empty:
        return []
    mine = pubs[pubs["derive_de"].isna()].copy()
    mine["asof"] = millesime(con, mine)
    mine["rid"] = range(len(mine))
    con.register("_pubs", mine)
    rows = con.execute("""
        WITH declared AS (SELECT DISTINCT metrique FROM metriques_millesimes),
        matched AS (
            SELECT p.rid, arg_max(m.valeur, m.report_year) AS reference,
                   arg_max(m.sources, m.report_year) AS sources_metrique,
                   max(m.report_year) AS report_metrique
            FROM _pubs p JOIN metriques_millesimes m
              ON m.metrique = p.metrique AND m.org = p.org AND m.exercice = p.exercice
             AND m.adherent IS NOT DISTINCT FROM p.adherent AND m.pole IS NOT DISTINCT FROM p.pole
             AND m.detail IS NOT DISTINCT FROM p.detail AND m.report_year <= p.asof
            GROUP BY p.rid)
        SELECT p.*, x.reference, x.sources_metrique, x.report_metrique
        FROM _pubs p JOIN declared d USING (metrique) LEFT JOIN matched x USING (rid)
        ORDER BY p.rid""").df()
    con.unregister("_pubs")
    out = []
    for pub in rows.astype(object).where(rows.notna(), None).to_dict("records"):
        if pub["valeur"] is None:
            continue
        unit = f" {pub['unite']}" if pub["unite"] else ""
        shown = f"{_where(pub)} montre {_fmt(pub['valeur'])}{unit} pour {_quoi(pub)}"
        if pub["reference"] is None:
            out.append(_row("publication.metric", pub, statut="absente", found=_fmt(pub["valeur"]),
                            expected="aucune valeur de la métrique",
                            message=f"{shown}, que la couche de métriques ne donne pas (bilans jusqu'en "
                                    f"{pub['asof']})."))
            continue
        out.append(_row("publication.metric", pub, valeur=pub["valeur"], reference=pub["reference"],
                        found=_fmt(pub["valeur"]), expected=_fmt(pub["reference"]),
                        message=f"{shown} ; la métrique vaut {_fmt(pub['reference'])} (bilan "
                                f"{pub['report_metrique']} : {pub['sources_metrique'] or 'sans source'})."))
    return out


def _quoi(pub: dict) -> str:
    dims = [str(pub[k]) for k in ("adherent", "pole", "detail") if pub.get(k)]
    return f"{pub['metrique']} {pub['exercice']}" + (f" ({', '.join(dims)})" if dims else "")


def unique_checks(con, pubs: pd.DataFrame) -> list[dict]:
    """One value per figure key across every page and the briefing that read the same reports (an
    analysis page of 2018 may show the 2017 figure the 2022 report later restates: not a contradiction).
    Derived figures are checked through the figures they come from."""
    out = []
    # a derived figure's key does not say what it is made of (« autres » groups what each page leaves out)
    known = pubs[pubs["valeur"].notna() & pubs["metrique"].notna() & pubs["derive_de"].isna()].copy()
    if known.empty:
        return out
    known["asof"] = millesime(con, known)
    for _key, group in known.groupby(["cle", "asof"], sort=True):
        values = group["valeur"].round(6).unique()
        if len(values) < 2:
            continue
        recs = group.to_dict("records")
        shown = " ; ".join(f"{_fmt(v)} ({_where(next(r for r in recs if round(r['valeur'], 6) == v))})"
                           for v in sorted(values))
        first = recs[0]
        out.append(_row("publication.unique", first, statut="plusieurs_valeurs", found=shown,
                        expected="une seule valeur", pages=sorted(group["page"].unique()),
                        message=f"{_quoi(first)}, {first['org']}, est publié avec {len(values)} valeurs : {shown}."))
    return out


def total_checks(pubs: pd.DataFrame) -> list[dict]:
    """A total shown equals the sum of the parts shown under it, unless its `motif` says why not."""
    out = []
    parts = pubs[pubs["partie_de"].notna() & pubs["valeur"].notna()]
    for (page, element, year), group in parts.groupby(["page", "partie_de", "exercice"], sort=True):
        totals = pubs[(pubs["page"] == page) & (pubs["element"] == element) & (pubs["exercice"] == year)
                      & pubs["partie_de"].isna()]
        for total in totals.to_dict("records"):
            if total["valeur"] is None or pd.isna(total["valeur"]):
                continue
            somme = float(group["valeur"].sum())
            row = _row("publication.total", total, valeur=total["valeur"], reference=somme,
                       statut="motif" if isinstance(total.get("motif"), str) and total["motif"] else "ok",
                       found=_fmt(total["valeur"]), expected=f"{_fmt(somme)} (somme de {len(group)} parties)",
                       message=f"{_where(total)} : le total {_fmt(total['valeur'])} n'est pas la somme des "
                               f"{len(group)} parties montrées ({_fmt(somme)}) pour {int(year)}.")
            out.append(row)
    return out


def chart_checks(pubs: pd.DataFrame) -> list[dict]:
    """A chart's title years are the years it draws, and no drawn year is null."""
    out = []
    points = pubs[pubs["role"] == "point"]
    for (_page, _element), group in points.groupby(["page", "element"], sort=True):
        recs = group.to_dict("records")
        for r in recs:
            if r["valeur"] is None or pd.isna(r["valeur"]):
                out.append(_row("publication.null", r, statut="nul", found="vide", expected="une valeur",
                                message=f"{_where(r)} dessine un point sans valeur pour {r['exercice']} "
                                        f"({r['detail'] or r['adherent'] or ''})."))
        drawn = sorted({int(r["exercice"]) for r in recs if r["valeur"] is not None and not pd.isna(r["valeur"])})
        claimed = json.loads(recs[0]["annees_titre"]) if recs[0].get("annees_titre") else []
        if not claimed or not drawn:
            continue
        if (min(claimed), max(claimed)) != (drawn[0], drawn[-1]):
            out.append(_row("publication.title", recs[0], statut="annees",
                            found="–".join(str(y) for y in sorted(set(claimed))),
                            expected=f"{drawn[0]}–{drawn[-1]}" if len(drawn) > 1 else str(drawn[0]),
                            message=f"{_where(recs[0])} : le titre annonce {'–'.join(map(str, sorted(set(claimed))))}"
                                    f", le graphique dessine {', '.join(map(str, drawn))}."))
    return out


def publication_frame(con, pubs: pd.DataFrame) -> pd.DataFrame:
    """The check frame of the suite `publications` (columns of CHECK_COLUMNS plus page, element, org,
    and pages: the pages a row is about, separated by PAGES_SEP)."""
    rows = metric_checks(con, pubs) + unique_checks(con, pubs) + total_checks(pubs) + chart_checks(pubs)
    df = frame(rows)
    for col in ("page", "element", "org", "pages"):
        df[col] = [r.get(col) for r in rows]
    df["tableau"] = df["element"]
    return df


def _flagged(con, pubs: pd.DataFrame, gx_dir=None) -> pd.DataFrame:
    """The check rows the suite flags (columns of publication_frame, rule and severity of the verdict)."""
    from pipelines.validate.suites import run_suites

    return run_suites({FAMILY: publication_frame(con, pubs)}, gx_dir=gx_dir)


def _as_findings(found: pd.DataFrame) -> pd.DataFrame:
    from pipelines.validate import FINDING_COLUMNS

    if found.empty:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    years = {page: _page_year(page) for page in found["page"].unique()}
    out = pd.DataFrame({
        "document": found["page"], "line": None, "rule": found["rule"], "severity": found["severity"],
        "message": found["message"], "found": found["found"], "expected": found["expected"],
        "table": found["element"], "document_id": None, "section": found["page"], "source_line": None,
        "suggestion": found["rule"].map(_suggestions()), "org": found["org"], "report_year": found["page"].map(years),
        "family": FAMILY, "exercice": found["exercice"], "key": found["key"], "highlight": None,
        "page": None, "place": None, "label_line": None, "label_source": None})
    out = out[FINDING_COLUMNS].astype(object)
    return out.where(out.notna(), None)


def _suggestions() -> dict[str, str]:
    """The fix each publication.* rule suggests (pipelines/catalogue/regles.toml)."""
    from pipelines import catalogue

    return {r.id: r.suggestion for r in catalogue.regles() if r.id in RULES}


def _page_year(page: str) -> int | None:
    """analyses/SIIM94/2022/finances -> 2022; briefing/siim94/arcueil_2022 -> 2022."""
    for part in reversed(page.replace("_", "/").split("/")):
        if part.isdigit() and len(part) == 4:
            return int(part)
    return None


def controler(db_path, pubs: pd.DataFrame, prefixe: str, echo=print, perimetre: set[str] | None = None) -> int:
    """Write the register of the pages under `prefixe` (« analyses/ », « briefing/ ») into `publications`,
    check every publication of the store with the suite, replace the `publication.*` findings, and say so.
    Returns the number of errors (a scheduled `bilans run` exits 1 on any) about a page of `perimetre`
    (every page when None: a filtered `bilans run` answers for its own pages); the others are said
    in one line, and stay in `findings`."""
    import duckdb

    from pipelines.store import replace_rows
    from pipelines.validate import write_findings
    from pipelines.validate.stored_results import gx_dir

    pubs = pubs.copy()
    pubs["exercice"] = pd.to_numeric(pubs["exercice"], errors="coerce").astype("Int64")
    pubs["valeur"] = pd.to_numeric(pubs["valeur"], errors="coerce").astype(float)
    replace_rows(db_path, "publications", pubs, "page LIKE ?", [f"{prefixe}%"])
    con = duckdb.connect(str(db_path))
    try:
        every = con.execute("SELECT * FROM publications").df()
        every = every.astype(object).where(every.notna(), None)
        every["valeur"] = pd.to_numeric(every["valeur"]).astype(float)
        flagged = _flagged(con, every, gx_dir(db_path))
        found = _as_findings(flagged)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM findings WHERE family = ?", [FAMILY])
        write_findings(con, found)
        con.execute("COMMIT")
    finally:
        con.close()
    errors = found[found["severity"] == "error"]
    mine = errors[_about(flagged.loc[errors.index, "pages"], perimetre)] if len(errors) else errors
    elsewhere = errors.drop(mine.index)
    pages = every["page"].nunique() if len(every) else 0
    echo(f"Publications : {pluriel(len(every), 'chiffre', 'chiffres')} sur {pluriel(pages, 'page', 'pages')}, "
         f"{pluriel(len(found), 'constat', 'constats')} publication.* dont {pluriel(len(errors), 'erreur', 'erreurs')}.")
    for f in mine.head(20).to_dict("records"):
        echo(f"  {f['rule']} : {f['message']}")
    if len(elsewhere):
        echo(f"  {pluriel(len(elsewhere), 'erreur', 'erreurs')} publication.* sur des pages hors du filtre, "
             f"{pluriel(len(elsewhere), 'non comptée', 'non comptées', False)} dans le code de sortie : {abrege(sorted(set(elsewhere['document'])))}.")
    return len(mine)


def keep_publications(con, old_store, with_findings: bool = True) -> int:
    """Copy into the store being built (`con`) the register `publications` of the store it replaces
    and, with `with_findings`, their `publication.*` findings. A build reads the reports, not the
    pages: the pages in reports/ still show those figures, and only the commands that write the
    register (`bilans run`, `bilans briefing --export`: `controler`) replace it; the qualité pages,
    whose inputs include these findings, stay up to date. Returns the rows kept (0 when there is no
    old store, or one written before the register existed)."""
    import duckdb

    from pipelines.store import SCHEMA

    if old_store is None or not Path(old_store).is_file():
        return 0
    try:
        quoted = str(Path(old_store).resolve()).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS ancien_magasin (READ_ONLY)")
    except duckdb.Error:  # unreadable: the build says so elsewhere (_previous_store); nothing to keep
        return 0
    try:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_catalog = 'ancien_magasin'").fetchall()}
        if "publications" not in tables:
            return 0
        con.execute(f'CREATE TABLE IF NOT EXISTS publications ({SCHEMA["publications"]})')
        con.execute("INSERT INTO publications BY NAME SELECT * FROM ancien_magasin.publications")
        if with_findings and "findings" in tables:
            con.execute("INSERT INTO findings BY NAME SELECT * FROM ancien_magasin.findings WHERE family = ?", [FAMILY])
        return con.execute("SELECT count(*) FROM publications").fetchone()[0]
    finally:
        con.execute("DETACH ancien_magasin")


def abrege(items: list[str], n: int = 10) -> str:
    """The first `n` items, comma-separated, and how many more: a line stays a line."""
    shown = ", ".join(items[:n])
    return shown + (f" et {pluriel(len(items) - n, 'autre', 'autres')}" if len(items) > n else "")


def _about(pages: pd.Series, perimetre: set[str] | None) -> list[bool]:
    """Whether each finding (its pages, PAGES_SEP-separated) is about a page of `perimetre` (None: all)."""
    return [perimetre is None or bool(set(p.split(PAGES_SEP)) & perimetre) for p in pages]

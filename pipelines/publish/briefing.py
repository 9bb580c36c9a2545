"""Briefing des élus : chiffres clés par adhérent et par année, tableau de bord Voilà, export HTML.

Three layers, so that each can be tested without the next one:

- data: `BriefingData` loads the latest vintage of the curated tables once, then
  `key_figures`, `history` and `comparison` answer a selection (org, adhérent,
  exercice) in pure Python — a selection change never goes back to the store;
- rendering: `render_cards`, `render_history` return escaped HTML strings shared
  by the dashboard and the static export (`briefing_export`);
- serving: `Dashboard` (ipywidgets + Altair) for the notebook, and
  `serve_or_export` which runs Voilà on 127.0.0.1 or writes the static pages.
"""

from __future__ import annotations

import contextlib
import csv
import html
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import BilansError
from pipelines.publish import fmt
from pipelines.publish.comparaison import Chiffre, compare

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO_ROOT / "notebooks" / "briefing_elus.ipynb"
REFERENTIEL_ADHERENTS = Path("data") / "referentiels" / "adherents.csv"
DEFAULT_PORT = 8866

# Fallback when data/referentiels/adherents.csv is absent or has no successeur
# column: predecessor -> (successor, last exercice under the old name).
DEFAULT_SUCCESSIONS: dict[str, tuple[str, int | None]] = {
    "OPALY": ("VALDEVY", 2021),
    "OPH d'Ivry": ("COOP'IVRY", 2020),
}

NOT_ADHERENT = {"interne", "mutualise", "groupe"}  # referential types that are not members

POLES = {"si": "Pôle SI", "infrastructures": "Pôle infrastructures", "support": "Pôle support"}


def _key(name: str | None) -> str:
    """Matching key for entity names: accents, case, apostrophes and punctuation ignored."""
    text = unicodedata.normalize("NFKD", str(name or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def _last_year_before(date_succession: str | None) -> int | None:
    """Last exercice under the old name: '2022-01-01' or '2022' -> 2021, '2021-10-01' -> 2021."""
    text = str(date_succession or "").strip()
    iso = re.fullmatch(r"((?:19|20)\d{2})(?:-(\d{1,2})-(\d{1,2}))?", text)
    fr = re.fullmatch(r"(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})", text)
    if iso:
        year, month, day = int(iso.group(1)), iso.group(2), iso.group(3)
    elif fr:
        year, month, day = int(fr.group(3)), fr.group(2), fr.group(1)
    else:
        return None
    starts_year = month is None or (int(month), int(day)) == (1, 1)
    return year - 1 if starts_year else year


# --------------------------------------------------------------------------- referential


@dataclass
class Referentiel:
    """Adhérent aliases and successions (renamings) used to group the store's names."""

    aliases: dict[str, str] = field(default_factory=dict)  # _key(alias) -> canonical
    kinds: dict[str, str] = field(default_factory=dict)  # _key(canonical) -> type (ville, oph, interne...)
    successions: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # old -> (new, until)
    source: str = "correspondances par défaut"

    def canonical(self, name: str) -> str:
        return self.aliases.get(_key(name), name)

    def is_adherent(self, name: str) -> bool:
        """False for total rows and for the syndicate itself or groupings (not a member to brief)."""
        if re.match(r"(sous )?total", _key(name)):
            return False
        return self.kinds.get(_key(self.canonical(name))) not in NOT_ADHERENT

    def _successor(self, name: str) -> tuple[str, int | None] | None:
        wanted = _key(name)
        for old, succ in self.successions.items():
            if _key(old) == wanted:
                return succ
        return None

    def final(self, name: str) -> str:
        """Follow renamings to today's name (OPALY -> VALDEVY); cycles are cut."""
        current, seen = self.canonical(name), set()
        while (succ := self._successor(current)) and _key(current) not in seen:
            seen.add(_key(current))
            current = self.canonical(succ[0])
        return current

    def predecessors(self, name: str) -> list[tuple[str, int | None]]:
        """Oldest first: [(old name, last exercice under that name), ...]."""
        chain: list[tuple[str, int | None]] = []
        target = _key(self.final(name))
        for old, (new, year) in self.successions.items():
            if _key(self.final(new)) == target and _key(old) != target:
                chain.append((old, year))
        return sorted(chain, key=lambda item: item[1] or 0)

    def lineage(self, name: str, seen: set[str] | None = None) -> str:
        """'OPALY (jusqu'en 2021) → VALDEVY' for a renamed adhérent, the name otherwise.

        `seen`: names found in the store; when some predecessors are among them,
        only those are told (VALDEVY also absorbed two OPH the SII never billed).
        """
        final = self.final(name)
        preds = self.predecessors(final)
        if seen:
            seen_keys = {_key(self.canonical(n)) for n in seen}
            preds = [p for p in preds if _key(p[0]) in seen_keys] or preds
        # Merged predecessors (OPALY and two OPH into VALDEVY) are one step, not a chain.
        steps: dict[int | None, list[str]] = {}
        for old, until in preds:
            steps.setdefault(until, []).append(old)
        parts = []
        for until, olds in steps.items():
            names = olds[0] if len(olds) == 1 else ", ".join(olds[:-1]) + " et " + olds[-1]
            parts.append(f"{names} (jusqu'en {until})" if until else names)
        return " → ".join([*parts, final])


def load_referentiel(path: str | os.PathLike | None = None) -> Referentiel:
    """Read data/referentiels/adherents.csv when it exists; tolerant of its exact columns.

    Columns used (others ignored): canonique (or canonical/adherent/nom), alias
    (several separated by '|'), successeur, date_succession. Without the file,
    or without a successeur column, the successions default to DEFAULT_SUCCESSIONS.
    """
    candidates = [Path(path)] if path else [Path.cwd() / REFERENTIEL_ADHERENTS, REPO_ROOT / REFERENTIEL_ADHERENTS]
    ref = Referentiel(successions=dict(DEFAULT_SUCCESSIONS))
    for candidate in candidates:
        if not candidate.is_file():
            continue
        try:
            text = candidate.read_text(encoding="utf-8-sig")
            sample = text[:2048]
            delimiter = ";" if sample.count(";") > sample.count(",") else ","
            rows = list(csv.DictReader(text.splitlines(), delimiter=delimiter))
        except (OSError, UnicodeDecodeError, csv.Error):
            continue  # a broken referential must not take the briefing down
        successions: dict[str, tuple[str, int | None]] = {}
        has_successions = False
        for row in rows:
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            canonical = row.get("canonique") or row.get("canonical") or row.get("adherent") or row.get("nom")
            if not canonical:
                continue
            ref.aliases.setdefault(_key(canonical), canonical)
            if row.get("type"):
                ref.kinds[_key(canonical)] = row["type"].lower()
            for alias in (row.get("alias") or row.get("aliases") or "").split("|"):
                if alias.strip():
                    ref.aliases[_key(alias)] = canonical
            if "successeur" in row:
                has_successions = True
                if row["successeur"]:
                    successions[canonical] = (row["successeur"], _last_year_before(row.get("date_succession")))
        if has_successions:
            ref.successions = successions
        ref.source = str(candidate)
        break
    return ref


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Source:
    report_year: int | None
    document_id: str | None
    line: int | None


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str


@dataclass
class Figure:
    """One key figure: value, French text, where it comes from, what validation found."""

    key: str
    label: str
    value: float | None
    text: str
    sources: list[Source] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    note: str = ""

    @property
    def flagged(self) -> bool:
        return bool(self.findings)

    @property
    def source_label(self) -> str:
        return sources_label(self.sources)


def sources_label(sources: list[Source]) -> str:
    """'Rapport 2018 (siim94_2018), ligne 201' — lines grouped per report."""
    by_doc: dict[tuple, list[int]] = defaultdict(list)
    for s in sources:
        by_doc[(s.report_year, s.document_id)].append(s.line)
    parts = []
    for (year, doc), lines in sorted(by_doc.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1] or "")):
        known = sorted({n for n in lines if n is not None})
        where = ""
        if len(known) == 1:
            where = f", ligne {known[0]}"
        elif known:
            where = ", lignes " + ", ".join(str(n) for n in known)
        parts.append(f"Rapport {year if year is not None else '?'} ({doc or 'document inconnu'}){where}")
    return " ; ".join(parts) if parts else "Source : aucune ligne dans le magasin"


@dataclass
class KeyFigures:
    org: str
    adherent: str  # today's canonical name (the group)
    year: int
    lineage: str  # 'OPALY (jusqu'en 2021) → VALDEVY'
    printed_names: list[str]  # names under which the figures of this year were printed
    contribution: Figure
    part: Figure
    jours: list[Figure]  # per pôle, then the total
    tickets: Figure
    formations: Figure
    total_jours: float | None = None

    @property
    def figures(self) -> list[Figure]:
        return [self.contribution, self.part, *self.jours, self.tickets, self.formations]

    @property
    def has_data(self) -> bool:
        return any(f.value is not None for f in self.figures if f.key != "formations")


@dataclass
class HistoryPoint:
    year: int
    printed_name: str
    contribution: float | None
    part: float | None
    jours: float | None
    tickets: float | None
    flagged: bool


@dataclass
class ComparisonRow:
    adherent: str
    contribution: float
    part: float | None
    selected: bool


class BriefingData:
    """The latest vintage of the tables the briefing needs, loaded once and kept in memory.

    The store is small (a few thousand curated rows even for dozens of
    reports), so holding it lets a selection change answer in milliseconds
    and the DuckDB file is not kept open while `bilans build` replaces it.
    """

    def __init__(self, db_path: str | os.PathLike, referentiel: Referentiel | None = None):
        import duckdb

        from pipelines.store import connect

        self.db_path = Path(db_path)
        self.ref = referentiel or load_referentiel()
        try:
            con = connect(self.db_path, read_only=True)
        except FileNotFoundError as exc:
            raise BilansError(str(exc)) from None
        except duckdb.Error as exc:
            raise BilansError(f"magasin illisible : {self.db_path} ({str(exc).splitlines()[0]})") from None
        try:
            self.contributions = self._rows(con, """
                SELECT org, exercice, report_year, document_id, line, adherent,
                       coalesce(adherent_imprime, adherent) AS imprime, lower(categorie) AS categorie,
                       CAST(montant AS DOUBLE) AS montant, coalesce(source, 'tableau') AS source
                FROM contributions WHERE montant IS NOT NULL AND adherent IS NOT NULL
                  AND lower(categorie) <> 'cotisation_votee' -- a projection, not an exercice's actuals
                QUALIFY row_number() OVER (PARTITION BY org, exercice, adherent, lower(categorie)
                                           ORDER BY report_year DESC, line) = 1""", "contributions")
            self.activite = self._rows(con, """
                SELECT org, exercice, report_year, document_id, line, lower(pole) AS pole,
                       coalesce(categorie_norm, categorie) AS entite, categorie AS imprime, jours
                FROM activite WHERE lower(axe) IN ('collectivite', 'oph') AND jours IS NOT NULL
                QUALIFY row_number() OVER (PARTITION BY org, exercice, lower(pole), lower(axe),
                                           coalesce(categorie_norm, categorie)
                                           ORDER BY report_year DESC, line) = 1""", "activite")
            self.tickets = self._rows(con, """
                SELECT org, exercice, report_year, document_id, line, entite, entite AS imprime, tickets
                FROM tickets WHERE tickets IS NOT NULL
                QUALIFY row_number() OVER (PARTITION BY org, exercice, entite
                                           ORDER BY report_year DESC, line) = 1""", "tickets")
            self.formations = self._rows(con, """
                SELECT org, exercice, report_year, document_id, line, lower(type) AS type, agents, jours
                FROM formations
                QUALIFY row_number() OVER (PARTITION BY org, exercice, lower(type)
                                           ORDER BY report_year DESC, line) = 1""", "formations")
            findings = self._rows(con, """
                SELECT document_id, line, rule, severity, message, family FROM findings
                WHERE document_id IS NOT NULL AND line IS NOT NULL""", "findings")
        finally:
            con.close()
        self.findings: dict[tuple[str, int], list[tuple[str | None, Finding]]] = defaultdict(list)
        for f in findings:
            self.findings[(f["document_id"], f["line"])].append(
                (f["family"], Finding(f["rule"] or "", f["severity"] or "", f["message"] or "")))
        # Group every name under today's name once, so selections compare strings only.
        # Total rows and the syndicate's own or pooled lines would be counted twice in the shares.
        self.contributions = [r for r in self.contributions if self.ref.is_adherent(r["adherent"])]
        self._seen: dict[str, set[str]] = defaultdict(set)
        for rows, name_col in ((self.contributions, "adherent"), (self.activite, "entite"),
                               (self.tickets, "entite")):
            for r in rows:
                r["groupe"] = self.ref.final(r[name_col])
                self._seen[r["groupe"]].update(n for n in (r[name_col], r.get("imprime")) if n)

    def lineage(self, adherent: str) -> str:
        return self.ref.lineage(adherent, self._seen.get(adherent))

    @staticmethod
    def _rows(con, sql: str, table: str) -> list[dict]:
        import duckdb

        try:
            cur = con.execute(sql)
        except duckdb.CatalogException:
            return []  # an older store without this table: the figure shows as absent
        except duckdb.Error as exc:
            raise BilansError(f"table « {table} » illisible : {str(exc).splitlines()[0]}") from None
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- choices ---------------------------------------------------------------------------

    def organismes(self) -> list[str]:
        return sorted({r["org"] for r in self.contributions} | {r["org"] for r in self.activite}
                      | {r["org"] for r in self.tickets})

    def adherents(self, org: str) -> list[str]:
        names = {r["groupe"] for r in self.contributions if r["org"] == org}
        return sorted(names, key=_key)

    def adherent_label(self, name: str) -> str:
        """Dropdown label: 'VALDEVY (ex-OPALY)'."""
        olds = self.lineage(name).split(" → ")[:-1]
        olds = [re.sub(r" \(jusqu'en \d{4}\)$", "", o) for o in olds]
        return f"{name} (ex-{', ex-'.join(olds)})" if olds else name

    def years(self, org: str, adherent: str | None = None) -> list[int]:
        rows = [r for r in self.contributions if r["org"] == org]
        if adherent is not None:
            rows = [r for r in rows if r["groupe"] == adherent]
        return sorted({r["exercice"] for r in rows if r["exercice"] is not None})

    # -- figures ---------------------------------------------------------------------------

    def _findings(self, rows: list[dict], family: str) -> list[Finding]:
        found: list[Finding] = []
        for r in rows:
            for fam, finding in self.findings.get((r["document_id"], r["line"]), []):
                if (fam is None or fam == family) and finding not in found:
                    found.append(finding)
        return found

    @staticmethod
    def _sources(rows: list[dict]) -> list[Source]:
        return [Source(r["report_year"], r["document_id"], r["line"]) for r in rows]

    def _contribution_rows(self, org: str, year: int, adherent: str) -> list[dict]:
        rows = [r for r in self.contributions
                if r["org"] == org and r["exercice"] == year and r["groupe"] == adherent]
        # The total paid when printed, else the cotisation; the categories are the last resort.
        return ([r for r in rows if r["categorie"] == "total"] or [r for r in rows if r["categorie"] == "cotisation"]
                or rows)

    def _contribution_chiffre(self, org: str, year: int, adherent: str, measure: str | None = None
                              ) -> Chiffre | None:
        """The amount of one exercice as a figure of a series: its measure, and the entities
        it adds up (a successor's history sums its predecessors)."""
        rows = [r for r in self.contributions if r["org"] == org and r["exercice"] == year
                and r["groupe"] == adherent and r["categorie"] == measure] or self._contribution_rows(org, year, adherent)
        if not rows:
            return None
        measure = rows[0]["categorie"] if len({r["categorie"] for r in rows}) == 1 else "somme des catégories"
        composition: dict[str, float] = defaultdict(float)
        for r in rows:
            composition[r["adherent"]] += r["montant"]
        return Chiffre(sum(r["montant"] for r in rows), exercice=year, report_year=rows[0]["report_year"],
                       cle=(measure, adherent), composition=dict(composition),
                       libelles={a: a for a in composition})

    def contribution_evolution(self, org: str, adherent: str, year: int) -> str:
        """The change from the previous exercice, through the shared comparison (same measure only)."""
        cur = self._contribution_chiffre(org, year, adherent)
        earlier = [y for y in self.years(org, adherent) if y < year]
        if cur is None or not earlier:
            return ""
        prev = self._contribution_chiffre(org, earlier[-1], adherent, cur.cle[0])
        return compare(cur, prev, formatter=fmt.euros).texte()

    def _totals_by_adherent(self, org: str, year: int) -> dict[str, float]:
        out: dict[str, float] = {}
        for name in {r["groupe"] for r in self.contributions if r["org"] == org and r["exercice"] == year}:
            out[name] = sum(r["montant"] for r in self._contribution_rows(org, year, name))
        return out

    def _contribution_note(self, org: str, adherent: str, year: int, rows: list[dict]) -> str:
        what = ("" if not rows or rows[0]["categorie"] == "total" else
                "cotisation" if rows[0]["categorie"] == "cotisation" else "somme des catégories (pas de total imprimé)")
        if any(r.get("source") == "texte" for r in rows):
            what = ", ".join(x for x in (what, "cité dans le texte") if x)
        change = self.contribution_evolution(org, adherent, year)
        return " ; ".join(x for x in (what, change) if x)

    def key_figures(self, org: str, adherent: str, year: int) -> KeyFigures:
        contrib_rows = self._contribution_rows(org, year, adherent)
        montant = sum(r["montant"] for r in contrib_rows) if contrib_rows else None
        contribution = Figure(
            "contribution", "Contribution versée", montant, fmt.euros(montant),
            self._sources(contrib_rows), self._findings(contrib_rows, "contributions"),
            self._contribution_note(org, adherent, year, contrib_rows))

        totals = self._totals_by_adherent(org, year)
        grand_total = sum(totals.values())
        part_value = montant / grand_total * 100 if montant is not None and grand_total else None
        part = Figure("part", "Part des recettes du syndicat", part_value, fmt.pourcent(part_value),
                      self._sources(contrib_rows), list(contribution.findings),
                      f"sur {fmt.euros(grand_total)} versés par {len(totals)} adhérents" if totals else "")

        act = [r for r in self.activite if r["org"] == org and r["exercice"] == year and r["groupe"] == adherent]
        jours: list[Figure] = []
        for pole in sorted({r["pole"] for r in act}, key=lambda p: (p not in POLES, list(POLES).index(p)
                                                                     if p in POLES else 0, p)):
            rows = [r for r in act if r["pole"] == pole]
            value = sum(r["jours"] for r in rows)
            jours.append(Figure(f"jours_{pole}", f"Jours d'activité — {POLES.get(pole, 'Pôle ' + pole.replace('_', ' '))}",
                                value, fmt.jours(value), self._sources(rows), self._findings(rows, "activite")))
        total_jours = sum(r["jours"] for r in act) if act else None
        if len(jours) != 1:  # with a single pôle the total would repeat its card
            jours.append(Figure("jours_total", "Jours d'activité consacrés (tous pôles)", total_jours,
                                fmt.jours(total_jours), self._sources(act), self._findings(act, "activite"),
                                "" if act else "aucun jour imputé à cet adhérent dans les rapports"))

        tk = [r for r in self.tickets if r["org"] == org and r["exercice"] == year and r["groupe"] == adherent]
        n_tickets = sum(r["tickets"] for r in tk) if tk else None
        tickets = Figure("tickets", "Tickets d'assistance", n_tickets, fmt.nombre(n_tickets),
                         self._sources(tk), self._findings(tk, "tickets"),
                         "" if tk else "pas de décompte par adhérent cette année")

        fo = [r for r in self.formations if r["org"] == org and r["exercice"] == year and r["agents"] is not None]
        fo_total = [r for r in fo if r["type"] == "total"] or fo
        agents = sum(r["agents"] for r in fo_total) if fo_total else None
        formations = Figure("formations", "Agents formés", agents, fmt.nombre(agents),
                            self._sources(fo_total), self._findings(fo_total, "formations"),
                            f"ensemble du syndicat {org} : les rapports ne détaillent pas les formations "
                            "par adhérent" if fo_total else "pas de bilan des formations cette année")

        printed = sorted({self.ref.canonical(r["imprime"]) for r in contrib_rows + act + tk if r.get("imprime")})
        return KeyFigures(org, adherent, year, self.lineage(adherent), printed,
                          contribution, part, jours, tickets, formations, total_jours)

    def history(self, org: str, adherent: str) -> list[HistoryPoint]:
        """Every exercice of the organisme, one line even across a renaming."""
        points = []
        for year in self.years(org):
            kf = self.key_figures(org, adherent, year)
            if not kf.has_data:
                continue
            points.append(HistoryPoint(
                year, ", ".join(kf.printed_names) or adherent, kf.contribution.value, kf.part.value,
                kf.total_jours, kf.tickets.value,
                any(f.flagged for f in kf.figures if f.key != "formations")))
        return points

    def comparison(self, org: str, adherent: str, year: int) -> list[ComparisonRow]:
        totals = self._totals_by_adherent(org, year)
        grand_total = sum(totals.values())
        rows = [ComparisonRow(name, value, value / grand_total * 100 if grand_total else None, name == adherent)
                for name, value in totals.items()]
        return sorted(rows, key=lambda r: (-r.contribution, _key(r.adherent)))


# --------------------------------------------------------------------------- HTML

CSS = """
.bf { font-family: "Marianne", "Segoe UI", Arial, sans-serif; color: #1e1e1e; font-size: 18px; line-height: 1.4; }
.bf h1 { font-size: 30px; margin: 0 0 4px; }
.bf h2 { font-size: 22px; margin: 24px 0 8px; }
.bf .bf-sub { font-size: 18px; color: #555; margin-bottom: 12px; }
.bf .bf-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 14px; }
.bf .bf-card { border: 1px solid #d0d0d0; border-left: 6px solid #000091; border-radius: 6px; padding: 12px 14px;
  background: #fff; break-inside: avoid; }
.bf .bf-card.bf-flag { border-left-color: #d64d00; background: #fff8f3; }
.bf .bf-label { font-size: 16px; color: #3a3a3a; }
.bf .bf-value { font-size: 34px; font-weight: 700; margin: 4px 0; white-space: nowrap; }
.bf .bf-note { font-size: 14px; color: #555; }
.bf .bf-finding { font-size: 14px; color: #a33a00; margin-top: 4px; }
.bf .bf-source { font-size: 12px; color: #6a6a6a; margin-top: 6px; }
.bf .bf-lineage { font-size: 16px; color: #000091; margin-bottom: 8px; }
.bf .bf-empty { font-size: 20px; padding: 16px; background: #f6f6f6; border-radius: 6px; }
.bf table { border-collapse: collapse; font-size: 17px; }
.bf th, .bf td { padding: 4px 12px; border-bottom: 1px solid #e2e2e2; text-align: right; }
.bf th:first-child, .bf td:first-child, .bf td.bf-name, .bf th.bf-name { text-align: left; }
.bf tr.bf-sel td { font-weight: 700; background: #eef0ff; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_card(fig: Figure) -> str:
    warn = "".join(f'<div class="bf-finding">⚠ {_e(f.message)} <small>({_e(f.rule)})</small></div>'
                   for f in fig.findings)
    mark = ' <span class="bf-mark" title="Constat de validation">⚠</span>' if fig.flagged else ""
    note = f'<div class="bf-note">{_e(fig.note)}</div>' if fig.note else ""
    source = f'<div class="bf-source">{_e(fig.source_label)}</div>' if fig.sources else ""
    return (f'<div class="bf-card{" bf-flag" if fig.flagged else ""}" data-figure="{_e(fig.key)}">'
            f'<div class="bf-label">{_e(fig.label)}</div>'
            f'<div class="bf-value"><span class="bf-num">{_e(fig.text)}</span>{mark}</div>'
            f"{note}{warn}{source}</div>")


def render_cards(kf: KeyFigures) -> str:
    head = (f'<h1 class="bf-title">{_e(kf.adherent)} — {_e(kf.year)}</h1>'
            f'<div class="bf-sub bf-org">Organisme : {_e(kf.org)}'
            + (f" · nom dans les rapports de {_e(kf.year)} : {_e(', '.join(kf.printed_names))}"
               if kf.printed_names and kf.printed_names != [kf.adherent] else "") + "</div>")
    if kf.lineage != kf.adherent:
        head += f'<div class="bf-lineage">Historique du nom : {_e(kf.lineage)}</div>'
    if not kf.has_data:
        body = (f'<div class="bf-empty" data-figure="absent">Aucune donnée pour {_e(kf.adherent)} '
                f"en {_e(kf.year)} dans les rapports de {_e(kf.org)}.</div>")
        return f'<div class="bf">{head}{body}</div>'
    cards = "".join(render_card(f) for f in kf.figures)
    return f'<div class="bf">{head}<div class="bf-cards">{cards}</div></div>'


def render_history(points: list[HistoryPoint], lineage: str, year: int) -> str:
    rows = "".join(
        f'<tr class="{"bf-sel" if p.year == year else ""}" data-year="{p.year}"><td>{p.year}</td>'
        f'<td class="bf-name">{_e(p.printed_name)}</td><td>{_e(fmt.euros(p.contribution))}</td>'
        f"<td>{_e(fmt.pourcent(p.part))}</td><td>{_e(fmt.jours(p.jours))}</td>"
        f"<td>{_e(fmt.nombre(p.tickets))}</td><td>{'⚠' if p.flagged else ''}</td></tr>"
        for p in points)
    return (f'<div class="bf"><h2>Évolution : {_e(lineage)}</h2>'
            '<table class="bf-history"><thead><tr><th>Exercice</th><th class="bf-name">Nom imprimé</th><th>Contribution</th>'
            "<th>Part des recettes</th><th>Jours d'activité</th><th>Tickets</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def render_comparison(rows: list[ComparisonRow], year: int) -> str:
    body = "".join(
        f'<tr class="{"bf-sel" if r.selected else ""}"><td>{i}</td><td class="bf-name">{_e(r.adherent)}</td>'
        f"<td>{_e(fmt.euros(r.contribution))}</td><td>{_e(fmt.pourcent(r.part))}</td></tr>"
        for i, r in enumerate(rows, 1))
    return (f'<div class="bf"><h2>Comparaison avec les autres adhérents en {_e(year)}</h2>'
            '<table class="bf-comparison"><thead><tr><th>Rang</th><th class="bf-name">Adhérent</th><th>Contribution</th>'
            f"<th>Part</th></tr></thead><tbody>{body}</tbody></table></div>")


def altair_chart(points: list[HistoryPoint], comparison: list[ComparisonRow], year: int):
    """Evolution of the contribution and comparison with the other adhérents (Altair)."""
    import altair as alt

    # The printed name goes under the year when it differs (renamed adhérent: one series, change noted).
    names = {p.printed_name for p in points}
    hist = alt.Data(values=[{"exercice": f"{p.year} ({p.printed_name})" if len(names) > 1 else str(p.year),
                             "montant": p.contribution or 0, "nom": p.printed_name,
                             "montant_txt": fmt.euros(p.contribution), "choisi": p.year == year}
                            for p in points])
    comp = alt.Data(values=[{"adherent": r.adherent, "montant": r.contribution, "choisi": r.selected,
                             "montant_txt": fmt.euros(r.contribution), "part_txt": fmt.pourcent(r.part)}
                            for r in comparison])
    color = alt.condition("datum.choisi", alt.value("#000091"), alt.value("#a8a8d8"))
    evolution = alt.Chart(hist, title="Contribution par exercice").mark_bar().encode(
        x=alt.X("exercice:O", title="Exercice", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("montant:Q", title="Contribution (€)", axis=alt.Axis(format=",.0f")),
        color=color,
        tooltip=[alt.Tooltip("exercice:O", title="Exercice"), alt.Tooltip("nom:N", title="Nom imprimé"),
                 alt.Tooltip("montant_txt:N", title="Contribution")],
    ).properties(width=320, height=240)
    compared = alt.Chart(comp, title=f"Contributions des adhérents en {year}").mark_bar().encode(
        y=alt.Y("adherent:N", sort="-x", title=None),
        x=alt.X("montant:Q", title="Contribution (€)", axis=alt.Axis(format=",.0f")),
        color=color,
        tooltip=[alt.Tooltip("adherent:N", title="Adhérent"), alt.Tooltip("montant_txt:N", title="Contribution"),
                 alt.Tooltip("part_txt:N", title="Part")],
    ).properties(width=360, height=max(120, 26 * len(comparison)))
    return (alt.hconcat(evolution, compared)
            .configure(locale={"number": fmt.VEGA_FORMAT_LOCALE})
            .configure_axis(labelFontSize=14, titleFontSize=15)
            .configure_title(fontSize=17))


def vegalite_bundle(chart) -> dict:
    """Mime bundle Voilà renders offline: its bundled renderer understands the Vega-Lite v5 mimetype.

    Altair >= 6 labels its output v6, which Voilà 0.5 does not know; the
    simple marks used here read the same in Vega-Lite 5.
    """
    spec = chart.to_dict()
    spec["$schema"] = "https://vega.github.io/schema/vega-lite/v5.json"
    return {"application/vnd.vegalite.v5+json": spec, "text/plain": "Graphique : évolution et comparaison"}


# --------------------------------------------------------------------------- dashboard


def resolve_db(db_path: str | os.PathLike | None) -> Path:
    """BILANS_DB, else the given path; relative paths also tried from the repository root
    (Voilà runs the notebook from notebooks/)."""
    path = Path(os.environ.get("BILANS_DB") or db_path or "data/curated/bilans.duckdb")
    if not path.is_absolute() and not path.exists() and (REPO_ROOT / path).exists():
        return REPO_ROOT / path
    return path


class Dashboard:
    """ipywidgets dashboard: organisme, adhérent and year dropdowns -> cards, history, chart."""

    def __init__(self, db_path: str | os.PathLike | None = None, org: str | None = None,
                 adherent: str | None = None, year: int | None = None, chart: bool = True):
        import ipywidgets as w

        self.data = BriefingData(resolve_db(db_path))
        self.with_chart = chart
        self._busy = False
        layout = w.Layout(width="340px", height="40px")
        style = {"description_width": "110px"}
        self.org = w.Dropdown(description="Organisme", options=self.data.organismes(), layout=layout, style=style)
        self.adherent = w.Dropdown(description="Adhérent", layout=layout, style=style)
        self.year = w.Dropdown(description="Exercice", layout=w.Layout(width="240px", height="40px"), style=style)
        for dd in (self.org, self.adherent, self.year):
            dd.add_class("bf-select")
        self.cards = w.HTML()
        self.history = w.HTML()
        self.comparison = w.HTML()
        self.chart = w.Output()
        self.status = w.HTML()
        self.last_render_s = 0.0
        self.last_chart: dict | None = None
        css = w.HTML(f"<style>{CSS} .bf-select select, .bf-select label {{ font-size: 18px !important; }}"
                     ".bf-select select { height: 36px !important; }</style>")
        intro = w.HTML('<div class="bf"><h1>Briefing des élus</h1><div class="bf-sub">Ce que chaque adhérent '
                       "verse au syndicat et ce qu'il reçoit en retour, d'après les bilans d'activité. "
                       "Chaque chiffre indique le rapport et la ligne d'où il vient ; ⚠ signale un chiffre "
                       "mis en cause par les contrôles de cohérence.</div></div>")
        self.widget = w.VBox([css, intro, w.HBox([self.org, self.adherent, self.year]), self.status,
                              self.cards, self.chart, w.HBox([self.history, self.comparison])])
        if not self.org.options:
            self.status.value = ('<div class="bf"><div class="bf-empty">Le magasin ne contient encore aucune '
                                 "contribution d'adhérent : lancez « bilans build ».</div></div>")
            return
        self.org.value = org if org in self.org.options else self.org.options[0]
        self._fill(adherent, year)
        self.org.observe(self._on_org, names="value")
        self.adherent.observe(self._on_adherent, names="value")
        self.year.observe(self._on_year, names="value")
        self.render()

    def _fill(self, adherent: str | None = None, year: int | None = None) -> None:
        """Refresh the adhérent and year choices for the organisme, keeping the selection if possible."""
        self._busy = True
        try:
            org = self.org.value
            names = self.data.adherents(org)
            keep = adherent if adherent in names else self.adherent.value
            self.adherent.options = [(self.data.adherent_label(n), n) for n in names]
            self.adherent.value = keep if keep in names else (names[0] if names else None)
            years = self.data.years(org)
            keep_year = year if year in years else self.year.value
            self.year.options = [(str(y), y) for y in years]
            self.year.value = keep_year if keep_year in years else (years[-1] if years else None)
        finally:
            self._busy = False

    def _on_org(self, _change) -> None:
        if not self._busy:
            self._fill()
            self.render()

    def _on_adherent(self, _change) -> None:
        if not self._busy:
            self.render()

    def _on_year(self, _change) -> None:
        if not self._busy:
            self.render()

    def select(self, org: str | None = None, adherent: str | None = None, year: int | None = None) -> KeyFigures:
        """Programmatic selection (tests, bench): same path as the dropdown callbacks."""
        if org is not None and org != self.org.value:
            self.org.value = org
        if adherent is not None:
            self.adherent.value = adherent
        if year is not None:
            self.year.value = year
        return self.current

    @property
    def current(self) -> KeyFigures:
        return self.data.key_figures(self.org.value, self.adherent.value, self.year.value)

    def render(self) -> None:
        start = time.perf_counter()
        org, adherent, year = self.org.value, self.adherent.value, self.year.value
        if adherent is None or year is None:
            self.cards.value = '<div class="bf"><div class="bf-empty">Aucun adhérent pour cet organisme.</div></div>'
            return
        kf = self.data.key_figures(org, adherent, year)
        points = self.data.history(org, adherent)
        comp = self.data.comparison(org, adherent, year)
        self.cards.value = render_cards(kf)
        self.history.value = render_history(points, kf.lineage, year)
        self.comparison.value = render_comparison(comp, year)
        if self.with_chart:
            from IPython import get_ipython
            from IPython.display import display

            self.last_chart = vegalite_bundle(altair_chart(points, comp, year))
            if get_ipython() is not None:  # outside a kernel (tests, bench) display would only print
                self.chart.clear_output(wait=True)
                with self.chart:
                    display(self.last_chart, raw=True)
        self.last_render_s = time.perf_counter() - start

    def show(self):
        from IPython.display import display

        display(self.widget)
        return None


# --------------------------------------------------------------------------- serving


def check_port(port: int) -> None:
    """A one-line French error before Voilà is even started: invalid or busy port."""
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise BilansError(f"port invalide : {port} (attendu : un entier entre 1 et 65535)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option as Tornado, so a port in TIME_WAIT after a restart is not "busy".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except PermissionError:
            raise BilansError(f"port {port} non autorisé pour cet utilisateur : choisissez-en un "
                              "au-dessus de 1024 avec --port") from None
        except OSError:
            raise BilansError(f"le port {port} est déjà utilisé sur 127.0.0.1 : choisissez-en un autre "
                              "avec --port") from None


def voila_command(port: int, notebook: Path = NOTEBOOK) -> list[str]:
    return [sys.executable, "-m", "voila", str(notebook), "--no-browser",
            f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
            "--VoilaConfiguration.strip_sources=True", "--VoilaConfiguration.show_tracebacks=False",
            # A kernel already running the notebook when the élu opens the page.
            "--VoilaConfiguration.preheat_kernel=True"]


def _wait_listening(proc: subprocess.Popen, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def _stop(proc: subprocess.Popen) -> None:
    """Terminate Voilà and its kernels (its own process group), then reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    else:  # Voilà gone but its kernels may linger in the group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)


def serve(db_path: Path, port: int = DEFAULT_PORT, startup_timeout: float = 90.0) -> int:
    check_port(port)
    if not NOTEBOOK.is_file():
        raise BilansError(f"carnet introuvable : {NOTEBOOK}")
    env = dict(os.environ, BILANS_DB=str(Path(db_path).resolve()))
    log_path = Path(tempfile.gettempdir()) / f"bilans-briefing-{port}.log"
    url = f"http://127.0.0.1:{port}/"

    def _sigterm(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _sigterm)
    with open(log_path, "w", encoding="utf-8") as log:
        # Own session: Ctrl-C reaches only us, and we stop Voilà and its kernels in order.
        proc = subprocess.Popen(voila_command(port), env=env, cwd=str(REPO_ROOT), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            if not _wait_listening(proc, port, startup_timeout):
                _stop(proc)
                tail = [ln for ln in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
                reason = tail[-1].strip() if tail else "aucun message"
                raise BilansError(f"Voilà n'a pas démarré sur le port {port} ({reason[:160]}) ; "
                                  f"journal : {log_path}")
            print(f"Briefing des élus : {url} (magasin {db_path}) — Ctrl-C pour arrêter ; journal : {log_path}",
                  flush=True)
            code = proc.wait()
            if code != 0:
                raise BilansError(f"Voilà s'est arrêté (code {code}) ; journal : {log_path}")
            return 0
        except KeyboardInterrupt:
            _stop(proc)
            print("Briefing arrêté.", flush=True)
            return 0
        finally:
            _stop(proc)
            signal.signal(signal.SIGTERM, previous)


def serve_or_export(db_path: str | os.PathLike, port: int = DEFAULT_PORT,
                    export_dir: str | os.PathLike | None = None) -> int:
    """`bilans briefing`: serve with Voilà on 127.0.0.1:port, or write static pages to export_dir."""
    db = Path(db_path)
    if not db.is_file():
        raise BilansError(f"magasin introuvable : {db} (lancez d'abord « bilans build »)")
    if export_dir is not None:
        from pipelines.publish.briefing_export import export

        pages = export(db, Path(export_dir))
        print(f"{len(pages)} page(s) de briefing écrites dans {export_dir} (sommaire : "
              f"{Path(export_dir) / 'index.html'})")
        return 0
    check_port(port)
    BriefingData(db)  # fail fast, in one line, on an unreadable store
    return serve(db, port)

"""Ce que montre le briefing des élus, pour un organisme, un adhérent et un exercice : les
chiffres clés, l'historique, la comparaison avec les autres adhérents et les projections.

One module read by the two views: the ipywidgets dashboard (`briefing`, served by
Voilà) and the static pages (`briefing_export`). `BriefingData` loads the latest
vintage of the curated tables once, then answers a selection in pure Python — a
selection change never goes back to the store.
"""

from __future__ import annotations

import csv
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import catalogue
from pipelines.curate.referentiels import adherent_rows, key
from pipelines.errors import BilansError
from pipelines.extract.numbers import fold
from pipelines.publish import fmt
from pipelines.publish.comparaison import Chiffre, compare

NOT_ADHERENT = {"interne", "mutualise", "groupe"}  # referential types that are not members

# activite.pole -> the pôle's title, in the catalogue's order (pipelines/catalogue/carnets.toml)
POLES = {p.nom: p.titre for p in catalogue.poles()}


def _key(name: str | None) -> str:
    """Matching key for entity names: the referentials' one (curate/referentiels.key)."""
    return key(str(name or ""))


def _sort_key(name: str | None) -> str:
    """Alphabetical order of names, accents and case ignored."""
    return fold(str(name or ""))


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
    """The adhérents' aliases and successions, as curate/referentiels.py reads them
    (data/referentiels/adherents.csv, or `path`). Without the file, or without a successeur column,
    no succession is assumed: names come from the referential, never from code. A file that cannot be
    read leaves the briefing with the printed names (a broken referential must not take it down)."""
    ref = Referentiel(successions={})
    try:
        rows = adherent_rows(Path(path) if path else None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        ref.source = f"référentiel illisible ({exc})"
        return ref
    successions: dict[str, tuple[str, int | None]] = {}
    for row in rows:
        canonical = (row.get("canonique") or "").strip()
        if not canonical:
            continue
        ref.aliases.setdefault(_key(canonical), canonical)
        if row.get("type"):
            ref.kinds[_key(canonical)] = row["type"].strip().lower()
        for alias in (row.get("alias") or "").split("|"):
            if alias.strip():
                ref.aliases[_key(alias)] = canonical
        if (row.get("successeur") or "").strip():
            successions[canonical] = (row["successeur"].strip(), _last_year_before(row.get("date_succession")))
    ref.successions = successions
    if rows:
        ref.source = str(path or "data/referentiels/adherents.csv")
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
    sources: list[Source] = field(default_factory=list)  # of the contribution
    cite_texte: bool = False  # the contribution is printed in the prose (a bullet), not in a table
    mesure: str | None = None  # the metric `contribution` is in (contribution_totale, cotisation …)
    par_mesure: dict[str, float] = field(default_factory=dict)  # every measure printed that year


@dataclass
class Projection:
    """An amount voted or projected for a later exercice (« vote 2023 »): never an actual."""

    year: int
    adherent: str
    montant: float
    source: Source
    findings: list[Finding] = field(default_factory=list)


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
            from pipelines.metrics import declarations, usage

            # every figure comes from the metrics layer (pipelines/metrics.py): one measure per
            # metric, one vintage rule, never a total added to its items
            self.mesures = {n: declarations()[n].mesure for n in usage("contributions")}
            contributions = self._metric_rows(con, usage("contributions"), "poste")
            self.contributions = [dict(r, categorie=r["metrique"], montant=r["valeur"])
                                  for r in contributions if r["adherent"]]
            self.projections_rows = [dict(r, montant=r["valeur"]) for r in
                                     self._metric_rows(con, usage("projections"), "poste") if r["adherent"]]
            self.totaux = {(r["org"], r["exercice"], r["metrique"]): r
                           for r in self._metric_rows(con, usage("contributions"), "total")}
            self.activite = [dict(r, entite=r["adherent"], jours=r["valeur"]) for r in
                             self._metric_rows(con, usage("jours_adherent"), "poste") if r["adherent"]]
            self.tickets = [dict(r, entite=r["detail"], tickets=r["valeur"]) for r in
                            self._metric_rows(con, ("tickets",), "poste") if r["detail"]]
            self.formations = [dict(r, agents=r["valeur"]) for r in
                               self._metric_rows(con, ("agents_formes",), "total")]
            printed = self._rows(con, """
                SELECT document_id, line, coalesce(adherent_imprime, adherent) AS imprime,
                       coalesce(source, 'tableau') AS source FROM contributions""", "contributions")
            printed += self._rows(con, "SELECT document_id, line, categorie AS imprime, 'tableau' AS source "
                                       "FROM activite", "activite")
            printed += self._rows(con, "SELECT document_id, line, entite_imprimee AS imprime, 'tableau' AS source "
                                       "FROM tickets", "tickets")
            # successions as curation stored them (contributions.lignee: today's name of the adhérent)
            lignees = self._rows(con, "SELECT DISTINCT org, adherent, lignee FROM contributions "
                                      "WHERE lignee IS NOT NULL", "contributions")
            findings = self._rows(con, """
                SELECT document_id, line, rule, severity, message, family FROM findings
                WHERE document_id IS NOT NULL AND line IS NOT NULL""", "findings")
        finally:
            con.close()
        # the printed name and origin (table or prose) of a figure's first line
        by_line = {(r["document_id"], r["line"]): r for r in printed}
        for rows in (self.contributions, self.activite, self.tickets):
            for r in rows:
                found = by_line.get((r["document_id"], r["line"]), {})
                r["imprime"] = found.get("imprime") or r.get("entite") or r.get("adherent")
                r["source"] = found.get("source", "tableau")
        self.findings: dict[tuple[str, int], list[tuple[str | None, Finding]]] = defaultdict(list)
        for f in findings:
            self.findings[(f["document_id"], f["line"])].append(
                (f["family"], Finding(f["rule"] or "", f["severity"] or "", f["message"] or "")))
        # Group every name under today's name once, so selections compare strings only: the lineage
        # stored by curation, else the referential's (activity and tickets print other names).
        stored = {(r["org"], _key(r["adherent"])): r["lignee"] for r in lignees if r["adherent"]}
        # Total rows and the syndicate's own or pooled lines would be counted twice in the shares.
        self.contributions = [r for r in self.contributions if self.ref.is_adherent(r["adherent"])]
        self._seen: dict[str, set[str]] = defaultdict(set)
        self.projections_rows = [r for r in self.projections_rows if self.ref.is_adherent(r["adherent"])]
        for rows, name_col in ((self.contributions, "adherent"), (self.activite, "entite"),
                               (self.tickets, "entite"), (self.projections_rows, "adherent")):
            for r in rows:
                r["groupe"] = stored.get((r["org"], _key(r[name_col]))) or self.ref.final(r[name_col])
                self._seen[r["groupe"]].update(n for n in (r[name_col], r.get("imprime")) if n)

    def lineage(self, adherent: str) -> str:
        return self.ref.lineage(adherent, self._seen.get(adherent))

    @classmethod
    def _metric_rows(cls, con, names: tuple[str, ...], which: str) -> list[dict]:
        """Rows of `metriques` for these metrics: "poste" (items) or "total" (the metric's totals),
        with `lignes` [(document_id, line)] and the first of them as document_id, line."""
        placeholders = ", ".join("?" * len(names))
        level = "niveau = 'poste'" if which == "poste" else "niveau <> 'poste' AND detail IS NULL"
        rows = cls._rows(con, f"""
            SELECT metrique, org, exercice, report_year, adherent, lower(pole) AS pole, detail, valeur, sources
            FROM metriques WHERE metrique IN ({placeholders}) AND valeur IS NOT NULL AND {level}
            ORDER BY org, exercice, metrique""", "metriques", list(names))
        for r in rows:
            r["lignes"] = [(d, int(n)) for d, _, n in (x.rpartition(":") for x in (r["sources"] or "").split(", "))
                           if d]
            r["document_id"], r["line"] = r["lignes"][0] if r["lignes"] else (None, None)
        return rows

    @staticmethod
    def _rows(con, sql: str, table: str, params: list | None = None) -> list[dict]:
        import duckdb

        try:
            cur = con.execute(sql, params or [])
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
        return sorted(names, key=_sort_key)

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

    def exercices(self, org: str, adherent: str) -> list[int]:
        """The exercices with an actual figure for this adhérent (paid, days or tickets)."""
        rows = [r for table in (self.contributions, self.activite, self.tickets) for r in table
                if r["org"] == org and r["groupe"] == adherent and r["exercice"] is not None]
        return sorted({r["exercice"] for r in rows})

    def default_year(self, org: str, adherent: str) -> int | None:
        """The latest exercice with figures for the adhérent: projections (« vote 2023 ») are not one."""
        years = self.exercices(org, adherent)
        return years[-1] if years else None

    def projections(self, org: str, adherent: str) -> list[Projection]:
        rows = [r for r in self.projections_rows if r["org"] == org and r["groupe"] == adherent]
        return [Projection(r["exercice"], adherent, r["montant"], Source(r["report_year"], r["document_id"], r["line"]),
                           self._findings([r], "contributions"))
                for r in sorted(rows, key=lambda r: (r["exercice"], r["report_year"]))]

    # -- figures ---------------------------------------------------------------------------

    def _findings(self, rows: list[dict], family: str) -> list[Finding]:
        found: list[Finding] = []
        for r in rows:
            for doc, line in r.get("lignes") or [(r["document_id"], r["line"])]:
                for fam, finding in self.findings.get((doc, line), []):
                    if (fam is None or fam == family) and finding not in found:
                        found.append(finding)
        return found

    @staticmethod
    def _sources(rows: list[dict]) -> list[Source]:
        return [Source(r["report_year"], doc, line) for r in rows
                for doc, line in (r.get("lignes") or [(r["document_id"], r["line"])])]

    def _measure_of(self, org: str, year: int, adherent: str) -> str | None:
        """The measure the adhérent's contribution of that year is published in: the first metric of
        the « contributions » usage (metriques.toml) its report prints for it."""
        printed = {r["categorie"] for r in self.contributions
                   if r["org"] == org and r["exercice"] == year and r["groupe"] == adherent}
        return next((m for m in self.mesures if m in printed), None)

    def mesure(self, org: str, year: int, adherent: str) -> str | None:
        """The metric the adhérent's contribution of that year is published in (None: no contribution)."""
        return self._measure_of(org, year, adherent)

    def mesure_label(self, measure: str | None) -> str:
        return self.mesures.get(measure or "", "contribution")

    def _contribution_rows(self, org: str, year: int, adherent: str, measure: str | None = None) -> list[dict]:
        """The adhérent's rows of one measure (by default the year's measure): never two measures added."""
        measure = measure or self._measure_of(org, year, adherent)
        return [r for r in self.contributions if r["org"] == org and r["exercice"] == year
                and r["groupe"] == adherent and r["categorie"] == measure]

    def _contribution_chiffre(self, org: str, year: int, adherent: str, measure: str) -> Chiffre | None:
        """The amount of one exercice as a figure of a series: its measure, and the entities
        it adds up (a successor's history sums its predecessors)."""
        rows = self._contribution_rows(org, year, adherent, measure)
        if not rows:
            return None
        composition: dict[str, float] = defaultdict(float)
        for r in rows:
            composition[r["adherent"]] += r["montant"]
        return Chiffre(sum(r["montant"] for r in rows), exercice=year, report_year=rows[0]["report_year"],
                       cle=(self.mesure_label(measure), adherent), composition=dict(composition),
                       libelles={a: a for a in composition})

    def composition(self, org: str, year: int, adherent: str, measure: str | None = None) -> list[str]:
        """The entities printed that year whose amounts make the adhérent's line: [adherent] itself, or
        a successor and its predecessors printed apart (OPH de Thiais beside LOGIREP in 2021)."""
        return sorted({r["adherent"] for r in self._contribution_rows(org, year, adherent, measure)})

    def contribution_evolution(self, org: str, adherent: str, year: int) -> str:
        """The change from the previous exercice printed in the same measure (comparaison.compare:
        one series only, the measure named)."""
        measure = self._measure_of(org, year, adherent)
        cur = self._contribution_chiffre(org, year, adherent, measure) if measure else None
        earlier = [y for y in self.years(org, adherent) if y < year and self._contribution_rows(org, y, adherent, measure)]
        if cur is None or not earlier:
            return ""
        prev = self._contribution_chiffre(org, earlier[-1], adherent, measure)
        return compare(cur, prev, formatter=fmt.euros).texte()

    def _totals_by_adherent(self, org: str, year: int, measure: str | None = None) -> dict[str, float]:
        """Each adhérent's amount in one measure (by default, each in the measure of its year)."""
        out: dict[str, float] = {}
        for name in {r["groupe"] for r in self.contributions if r["org"] == org and r["exercice"] == year}:
            rows = self._contribution_rows(org, year, name, measure)
            if rows:
                out[name] = sum(r["montant"] for r in rows)
        return out

    def _contribution_note(self, org: str, adherent: str, year: int, rows: list[dict]) -> str:
        what = "cité dans le texte" if any(r.get("source") == "texte" for r in rows) else ""
        change = self.contribution_evolution(org, adherent, year)
        return " ; ".join(x for x in (what, change) if x)

    def _grand_total(self, org: str, year: int, measure: str | None, totals: dict[str, float]) -> tuple[float, list]:
        """The members' total in that measure: the metric's total (printed total when it foots),
        else the sum of the members' amounts; and its rows (sources)."""
        row = self.totaux.get((org, year, measure))
        if row is not None:
            return row["valeur"], [row]
        return sum(totals.values()), []

    def key_figures(self, org: str, adherent: str, year: int) -> KeyFigures:
        measure = self._measure_of(org, year, adherent)
        contrib_rows = self._contribution_rows(org, year, adherent, measure) if measure else []
        montant = sum(r["montant"] for r in contrib_rows) if contrib_rows else None
        label = self.mesure_label(measure)
        contribution = Figure(
            "contribution", f"{label[:1].upper()}{label[1:]} versée" if measure else "Contribution versée",
            montant, fmt.euros(montant), self._sources(contrib_rows), self._findings(contrib_rows, "contributions"),
            self._contribution_note(org, adherent, year, contrib_rows))

        totals = self._totals_by_adherent(org, year, measure)
        left_out = len(self._totals_by_adherent(org, year)) - len(totals)
        grand_total, total_rows = self._grand_total(org, year, measure, totals)
        part_value = montant / grand_total * 100 if montant is not None and grand_total else None
        note = (f"{label} : {fmt.euros(montant)} sur {fmt.euros(grand_total)} versés par "
                f"{len(totals)} adhérents" if totals and montant is not None else "")
        if totals and left_out:
            note += f" (hors {fmt.pluriel(left_out, 'adhérent imprimé', 'adhérents imprimés')} dans une autre mesure)"
        part = Figure("part", "Part du total versé par les adhérents", part_value, fmt.pourcent(part_value),
                      self._sources(contrib_rows + total_rows), list(contribution.findings), note)

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

        fo_total = [r for r in self.formations if r["org"] == org and r["exercice"] == year]
        agents = sum(r["agents"] for r in fo_total) if fo_total else None
        formations = Figure("formations", "Agents formés", agents, fmt.nombre(agents),
                            self._sources(fo_total), self._findings(fo_total, "formations"),
                            f"ensemble du syndicat {org} : les rapports ne détaillent pas les formations "
                            "par adhérent" if fo_total else "pas de bilan des formations cette année")

        printed = sorted({self.ref.canonical(r["imprime"]) for r in contrib_rows + act + tk if r.get("imprime")})
        return KeyFigures(org, adherent, year, self.lineage(adherent), printed,
                          contribution, part, jours, tickets, formations, total_jours)

    def history(self, org: str, adherent: str) -> list[HistoryPoint]:
        """Every exercice of the organisme, one line even across a renaming; each measure of the
        contribution in its own column (`par_mesure`), the year's measure named (`mesure`)."""
        points = []
        for year in self.years(org):
            kf = self.key_figures(org, adherent, year)
            if not kf.has_data:
                continue
            rows = self._contribution_rows(org, year, adherent)
            par_mesure = {m: sum(r["montant"] for r in self._contribution_rows(org, year, adherent, m))
                          for m in self.mesures if self._contribution_rows(org, year, adherent, m)}
            points.append(HistoryPoint(
                year, ", ".join(kf.printed_names) or adherent, kf.contribution.value, kf.part.value,
                kf.total_jours, kf.tickets.value,
                any(f.flagged for f in kf.figures if f.key != "formations"),
                kf.contribution.sources, any(r.get("source") == "texte" for r in rows),
                mesure=self._measure_of(org, year, adherent), par_mesure=par_mesure))
        return points

    def comparison(self, org: str, adherent: str, year: int) -> list[ComparisonRow]:
        """The adhérents ranked by what they paid, among those printed in the chosen one's measure."""
        measure = self._measure_of(org, year, adherent)
        totals = self._totals_by_adherent(org, year, measure) if measure else {}
        grand_total = self._grand_total(org, year, measure, totals)[0]
        rows = [ComparisonRow(name, value, value / grand_total * 100 if grand_total else None, name == adherent)
                for name, value in totals.items()]
        return sorted(rows, key=lambda r: (-r.contribution, _sort_key(r.adherent)))

"""vintage.duplicate : deux documents d'un même organisme pour une même année de rapport.

The metrics layer (pipelines/metrics.py) reads, for each (organisme, report year), the last
document by document_id only: a re-issue replaces the report it corrects. The cross-report checks
order two reports of one year the same way, figure by figure (validate/points.py `rang`,
`latest_of_year`): a figure only the replaced edition prints is still compared. This rule tells the
user which document is used and which is not. One query over `documents`; a rule of the whole
organisme (SCOPE_ORG): adding or removing a document of a year changes the findings of the other
documents of that year, which an incremental build redoes for every report of a changed organisme.
"""

from __future__ import annotations

from pipelines.publish.fmt import nombre, pluriel
from pipelines.validate.frames import check_row


def duplicate_reports(con, orgs: list | None = None) -> list[tuple[str, int, list[str], list[str]]]:
    """(org, report_year, document ids, their paths) of each organisme and report year that more than
    one document covers (of the organismes `orgs` only, when given), ids in document_id order: the
    last one is the document used (see the module's docstring)."""
    only, params = "", []
    if orgs is not None:
        only, params = " AND list_contains(?, org)", [[o for o in orgs if o is not None]]
    return con.execute(f"""
        SELECT org, report_year, list(document_id ORDER BY document_id) AS ids,
               list(coalesce(path, document_id) ORDER BY document_id) AS paths
        FROM documents WHERE org IS NOT NULL AND report_year IS NOT NULL{only}
        GROUP BY org, report_year HAVING count(*) > 1 ORDER BY org, report_year""", params).fetchall()


# Documents a finding or a summary line names: a year that hundreds of documents cover (copies of a
# report) would else give each of its findings the list of all of them, whose size grows as the
# square of the copies (33 kB a message, 39 MB of findings, for 320 copies).
NAMED = 4


def duplicate_report_checks(con, orgs: list | None = None) -> list[dict]:
    """One check row (statut « doublon ») per document that shares its organisme and report year with
    another (`duplicate_reports`), with a French message naming them (NAMED at most: this document and
    the one used among them, and the count of the others), the one used (the last by document_id) and
    why. Like series.break, only what is found is a row."""
    return [_row(org, year, doc, ids, paths) for org, year, ids, paths in duplicate_reports(con, orgs) for doc in ids]


def said_in_summary(con) -> list[str]:
    """The lines `bilans build` prints under its summary: one per organisme and report year covered
    by more than one document, naming the document used (details in the findings vintage.duplicate)."""
    groups = duplicate_reports(con)
    if not groups:
        return []
    counted = pluriel(len(groups), "année de rapport couverte", "années de rapport couvertes")
    lines = [f"  {counted} par plusieurs documents (seul le dernier par identifiant est utilisé ; voir les constats vintage.duplicate) :"]
    for org, year, ids, _paths in groups:
        shown = _shown(ids, ids[-1])
        listed = ", ".join(f"« {ids[i]} »" for i in shown)
        if len(shown) < len(ids):
            listed = f"{nombre(len(ids))} documents dont {listed}"
        lines.append(f"    {org} {year} : {listed} → « {ids[-1]} » utilisé")
    return lines


def _shown(ids: list[str], *kept: str) -> list[int]:
    """Positions of the ids a message names, in order: all of them up to NAMED, else the first ones and
    those of `kept`, NAMED in all."""
    if len(ids) <= NAMED:
        return list(range(len(ids)))
    must = {ids.index(k) for k in kept}
    return sorted(must | set([i for i in range(len(ids)) if i not in must][:NAMED - len(must)]))


def _named(items: list[str], total: int) -> str:
    """« a, b et c », or « a, b, c et 12 autres » when `items` are not all the `total`."""
    if len(items) < total:
        return f"{', '.join(items)} et {pluriel(total - len(items), 'autre', 'autres')}"
    return f"{', '.join(items[:-1])} et {items[-1]}" if len(items) > 1 else items[0]


def _row(org: str, year: int, doc: str, ids: list[str], paths: list[str]) -> dict:
    used = ids[-1]
    named = _named([f"« {ids[i]} » ({paths[i]})" for i in _shown(ids, doc, used)], len(ids))
    others = _named([f"« {ids[i]} »" for i in _shown(ids[:-1], *([doc] if doc != used else []))], len(ids) - 1)
    replaced = "l'autre" if len(ids) == 2 else "les autres"
    if doc == used:
        verb = "n'est" if len(ids) == 2 else "ne sont"
        verdict = f"Ce document est celui qui est utilisé ; {others} {verb} pas repris dans les métriques."
    else:
        verdict = (f"Ce document-ci n'entre pas dans les métriques ; les comparaisons ne lisent de lui que les "
                   f"chiffres que « {used} » ne donne pas.")
    return check_row(
        rule="vintage.duplicate", severity="warning", statut="doublon", document_id=doc, line=1,
        key=f"{org}|{year}", found=f"{len(ids)} rapports", expected="1 rapport",
        message=(f"{len(ids)} documents de {org} portent sur l'année de rapport {year} : {named}. "
                 f"Les métriques n'en utilisent qu'un, « {used} », le dernier par identifiant : une réédition "
                 f"remplace le rapport qu'elle corrige ; les contrôles entre rapports prennent chaque chiffre "
                 f"du dernier de ces documents qui l'imprime. {verdict}"),
        suggestion=(f"Si « {used} » est bien la version corrigée, retirer {replaced} "
                    f"du corpus ; sinon corriger l'année de rapport de l'un d'eux (manifeste, ou titre du rapport)."))

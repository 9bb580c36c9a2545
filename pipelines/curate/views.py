"""Séries et millésimes : vue `series` (une ligne par chiffre, clé de série), vues
`<famille>_latest` (la valeur du rapport le plus récent pour chaque clé), `restatements`
(même série, même exercice, valeur différente d'un rapport à l'autre) et `continuations`
(même série imprimée sous un autre libellé).

A series is keyed by org, family, canonical concept, measure and perimeter (the
columns every curated row carries; each family's value columns and row key are declared in
pipelines/catalogue/familles.toml): a label renamed between two reports stays one
series, a total over another perimeter or another measure is another series.
"""

from __future__ import annotations

from pipelines import catalogue


def _series_sql() -> str:
    parts = []
    for fam in catalogue.familles():  # the series of each family: pipelines/catalogue/familles.toml
        niveau = "niveau" if "niveau" in fam.noms_colonnes else "NULL"
        for v in fam.valeurs:
            where = f"{v.colonne} IS NOT NULL" + (f" AND {v.condition}" if v.condition else "")
            parts.append(f"""
                SELECT '{fam.nom}' AS famille, org, exercice, report_year, concept, {v.mesure} AS mesure,
                       coalesce(perimetre, '') AS perimetre, CAST({v.colonne} AS DOUBLE) AS valeur,
                       CAST({fam.libelle} AS VARCHAR) AS libelle, CAST({niveau} AS VARCHAR) AS niveau,
                       coalesce(source, 'tableau') AS source, document_id, line, table_id
                FROM {fam.nom} WHERE {where}""")
    union = " UNION ALL ".join(parts)
    return f"""
        SELECT *, famille || ' | ' || concept || ' | ' || mesure || ' | ' || perimetre AS serie
        FROM ({union})"""


def create_views(con, previous: tuple[str | None, str] | None = None) -> None:
    """The views of the store; `previous`: what metrics.create_metric_views may copy (an incremental build;
    its store None: `con` is a copy of that store, pruned)."""
    from pipelines.metrics import create_metric_views, dernier_millesime

    con.execute("CREATE OR REPLACE VIEW series AS " + _series_sql())
    for fam in catalogue.familles():
        partition = ", ".join(("org", "exercice", *fam.cles))
        con.execute(f"CREATE OR REPLACE VIEW {fam.nom}_latest AS SELECT * FROM {fam.nom} "
                    f"{dernier_millesime(partition)}")
    # restatements keeps the column names it always had (family, key, measure, *_a, *_b)
    con.execute("""
        CREATE OR REPLACE VIEW restatements AS
        SELECT a.famille AS family, a.org, a.exercice, a.serie AS key, a.mesure AS measure,
               a.concept, a.perimetre,
               a.report_year AS report_year_a, a.valeur AS value_a, a.document_id AS document_id_a,
               a.line AS line_a, a.libelle AS libelle_a, a.source AS source_a,
               b.report_year AS report_year_b, b.valeur AS value_b, b.document_id AS document_id_b,
               b.line AS line_b, b.libelle AS libelle_b, b.source AS source_b
        FROM series a JOIN series b
          ON a.org = b.org AND a.serie = b.serie AND a.exercice = b.exercice AND a.report_year < b.report_year
        WHERE a.valeur <> b.valeur""")
    con.execute("""
        CREATE OR REPLACE VIEW continuations AS
        SELECT DISTINCT a.famille AS family, a.org, a.serie AS key, a.concept, a.mesure, a.perimetre,
               a.report_year AS report_year_a, a.libelle AS libelle_a, a.document_id AS document_id_a,
               a.line AS line_a, b.report_year AS report_year_b, b.libelle AS libelle_b,
               b.document_id AS document_id_b, b.line AS line_b
        FROM series a JOIN series b
          ON a.org = b.org AND a.serie = b.serie AND a.report_year < b.report_year
        WHERE lower(a.libelle) <> lower(b.libelle) AND a.source = 'tableau' AND b.source = 'tableau'""")
    create_metric_views(con, previous=previous)  # the published figures (data/referentiels/metriques.toml)

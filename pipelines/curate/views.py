"""Séries et millésimes : vue `series` (une ligne par chiffre, clé de série), vues
`<famille>_latest` (la valeur du rapport le plus récent pour chaque clé), `restatements`
(même série, même exercice, valeur différente d'un rapport à l'autre) et `continuations`
(même série imprimée sous un autre libellé).

A series is keyed by org, family, canonical concept, measure and perimeter (the
columns every curated row carries): a label renamed between two reports stays one
series, a total over another perimeter or another measure is another series.
"""

from __future__ import annotations

# family -> key columns besides org and exercice (the series key, plus what tells two rows of
# one report apart: the pôle and axis of a day count, the date of a staff count)
KEYS: dict[str, tuple[str, ...]] = {
    "finances": ("perimetre", "concept", "mesure", "niveau"),
    "contributions": ("concept", "mesure", "perimetre"),
    "activite": ("pole", "axe", "concept"),
    "formations": ("concept",),
    "tickets": ("concept",),
    "indicateurs": ("perimetre", "concept", "mesure"),
    "effectifs": ("date", "perimetre", "concept"),
    "applications": ("domaine", "fonctionnalite", "logiciel"),
}

# family -> (value column, measure of the series: a SQL expression over the row), printed label
SERIES: dict[str, tuple[list[tuple[str, str]], str]] = {
    "finances": ([("prevu", "'prevu'"), ("realise", "coalesce(mesure, 'realise')"), ("reports", "'reports'"),
                  ("total", "'realise_reports'")], "libelle"),
    "contributions": ([("montant", "mesure")], "adherent_imprime"),
    "activite": ([("jours", "mesure")], "categorie"),
    "formations": ([("agents", "'agents'"), ("jours", "'jours'")], "type_imprime"),
    "tickets": ([("tickets", "mesure")], "entite_imprimee"),
    "indicateurs": ([("valeur", "mesure")], "indicateur"),
    "effectifs": ([(c, f"'{c}'") for c in ("emplois", "titulaires", "contractuels", "pourvus")], "grade"),
}


def _series_sql() -> str:
    parts = []
    for family, (values, label) in SERIES.items():
        niveau = "niveau" if family not in ("formations", "tickets", "indicateurs") else "NULL"
        for column, mesure in values:
            if family == "finances" and column == "total":
                # « Total » = réalisé + reports: a series of its own unless `realise` already is that measure
                where = f"{column} IS NOT NULL AND coalesce(mesure, '') <> 'realise_reports'"
            else:
                where = f"{column} IS NOT NULL"
            parts.append(f"""
                SELECT '{family}' AS famille, org, exercice, report_year, concept, {mesure} AS mesure,
                       coalesce(perimetre, '') AS perimetre, CAST({column} AS DOUBLE) AS valeur,
                       CAST({label} AS VARCHAR) AS libelle, CAST({niveau} AS VARCHAR) AS niveau,
                       coalesce(source, 'tableau') AS source, document_id, line, table_id
                FROM {family} WHERE {where}""")
    union = " UNION ALL ".join(parts)
    return f"""
        SELECT *, famille || ' | ' || concept || ' | ' || mesure || ' | ' || perimetre AS serie
        FROM ({union})"""


def create_views(con) -> None:
    from pipelines.metrics import create_metric_views, dernier_millesime

    con.execute("CREATE OR REPLACE VIEW series AS " + _series_sql())
    for family, keys in KEYS.items():
        partition = ", ".join(("org", "exercice", *keys))
        con.execute(f"CREATE OR REPLACE VIEW {family}_latest AS SELECT * FROM {family} "
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
    create_metric_views(con)  # the published figures (data/referentiels/metriques.toml)

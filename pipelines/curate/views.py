"""Vintages : vues `<famille>_latest` (la valeur du rapport le plus récent pour chaque clé)
et `restatements` (les clés dont la valeur diffère d'un rapport à l'autre)."""

from __future__ import annotations

# family -> (key columns besides org and exercice, value columns compared across vintages)
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "finances": (("section", "sens", "chapitre", "libelle", "niveau"), ("prevu", "realise", "reports")),
    "contributions": (("adherent", "categorie"), ("montant",)),
    "activite": (("pole", "axe", "categorie_norm"), ("jours",)),
    "formations": (("type",), ("agents", "jours")),
    "tickets": (("entite",), ("tickets",)),
    "indicateurs": (("domaine", "indicateur", "unite"), ("valeur",)),
    "effectifs": (("date", "filiere", "grade"), ("emplois", "titulaires", "contractuels", "pourvus")),
    "applications": (("domaine", "fonctionnalite", "logiciel"), ("fournisseur",)),
}


def create_views(con) -> None:
    parts = []
    for family, (keys, values) in KEYS.items():
        partition = ", ".join(("org", "exercice", *keys))
        con.execute(f"""
            CREATE OR REPLACE VIEW {family}_latest AS
            SELECT * FROM {family}
            QUALIFY dense_rank() OVER (PARTITION BY {partition} ORDER BY report_year DESC) = 1""")
        if family == "applications":
            continue
        join = " AND ".join(f"a.{k} IS NOT DISTINCT FROM b.{k}" for k in ("org", "exercice", *keys))
        for value in values:
            key_text = " || ' | ' || ".join(f"coalesce(CAST(a.{k} AS VARCHAR), '')" for k in keys)
            parts.append(f"""
                SELECT '{family}' AS family, a.org, a.exercice, {key_text} AS key, '{value}' AS measure,
                       a.report_year AS report_year_a, CAST(a.{value} AS DOUBLE) AS value_a,
                       a.document_id AS document_id_a, a.line AS line_a,
                       b.report_year AS report_year_b, CAST(b.{value} AS DOUBLE) AS value_b,
                       b.document_id AS document_id_b, b.line AS line_b
                FROM {family} a JOIN {family} b ON {join} AND a.report_year < b.report_year
                WHERE a.{value} IS NOT NULL AND b.{value} IS NOT NULL AND a.{value} <> b.{value}""")
    con.execute("CREATE OR REPLACE VIEW restatements AS " + " UNION ALL ".join(parts))

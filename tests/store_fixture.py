"""A small hand-written curated store (schema of ARCHITECTURE.md) for publish-stage tests.

Figures are invented but shaped like the reports: two vintages of one year,
an adhérent renamed (OPALY -> VALDEVY), a flagged total, and SII with one report.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.store import create_schema

DOCS = [
    ("siim94_2017", "SIIM94", 2017, "data/raw/siim94_2017.txt"),
    ("siim94_2018", "SIIM94", 2018, "data/raw/siim94_2018.txt"),
    ("sii_2018", "SII", 2018, "data/raw/sii_2018.txt"),
]

# org, exercice, report_year, document_id, line, adherent, categorie, montant
CONTRIBUTIONS = [
    ("SIIM94", 2017, 2017, "siim94_2017", 300, "Ivry-sur-Seine", "total", 980000),
    ("SIIM94", 2017, 2017, "siim94_2017", 301, "Arcueil", "total", 400000),
    ("SIIM94", 2017, 2017, "siim94_2017", 302, "OPALY", "total", 180000),
    ("SIIM94", 2018, 2018, "siim94_2018", 200, "Ivry-sur-Seine", "total", 1011559),
    ("SIIM94", 2018, 2018, "siim94_2018", 201, "Arcueil", "total", 411423),
    ("SIIM94", 2018, 2018, "siim94_2018", 202, "VALDEVY", "total", 189155),
    ("SIIM94", 2018, 2018, "siim94_2018", 200, "Ivry-sur-Seine", "cotisation", 929571),
    ("SII", 2018, 2018, "sii_2018", 120, "Bobigny", "total", 2500000),
    ("SII", 2018, 2018, "sii_2018", 121, "La Courneuve", "total", 1200000),
]

# org, exercice, report_year, document_id, line, pole, axe, categorie, jours
ACTIVITE = [
    ("SIIM94", 2016, 2017, "siim94_2017", 500, "si", "domaine", "Finances", 300.0),
    ("SIIM94", 2017, 2017, "siim94_2017", 500, "si", "domaine", "Finances", 320.0),
    ("SIIM94", 2017, 2017, "siim94_2017", 501, "si", "domaine", "Santé publique", 150.0),
    ("SIIM94", 2017, 2018, "siim94_2018", 600, "si", "domaine", "Finances", 325.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 600, "si", "domaine", "Finances", 340.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 601, "si", "domaine", "Santé publique", 160.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 610, "si", "collectivite", "Ivry-sur-Seine", 420.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 611, "si", "collectivite", "Arcueil", 210.0),
    ("SIIM94", 2017, 2017, "siim94_2017", 510, "si", "collectivite", "Ivry-sur-Seine", 400.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 700, "infrastructures", "type", "Interventions systèmes", 1579.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 701, "infrastructures", "collectivite", "Ivry-sur-Seine", 250.0),
    ("SII", 2018, 2018, "sii_2018", 300, "si", "type", "Études", 900.0),
]

FINANCES = [
    ("SIIM94", 2017, 2017, "siim94_2017", 250, "fonctionnement", "depenses", "012", "charges de personnel",
     3300000, 3210000.5, None),
    ("SIIM94", 2018, 2018, "siim94_2018", 260, "fonctionnement", "depenses", "012", "charges de personnel",
     3420000, 3264575.95, None),
    ("SIIM94", 2018, 2018, "siim94_2018", 255, "fonctionnement", "recettes", "74", "dotations",
     5324400, 5381870.42, None),
]

FORMATIONS = [
    ("SIIM94", 2017, 2017, "siim94_2017", 800, "total", 1300.0, 210.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 800, "total", 1467.0, 230.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 798, "bureautique", 400.0, 80.0),
    # the items add up to the printed total (the metrics layer publishes a total only when it foots)
    ("SIIM94", 2018, 2018, "siim94_2018", 799, "metiers", 1067.0, 150.0),
]

TICKETS = [
    ("SIIM94", 2017, 2017, "siim94_2017", 900, "Ivry-sur-Seine", 3100.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 900, "Ivry-sur-Seine", 3350.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 901, "Arcueil", 1200.0),
]

FINDINGS = [
    ("data/raw/siim94_2018.txt", 600, "total.column", "error",
     "Le total ne correspond pas à la somme des lignes", "340", "345", "Répartition par domaine",
     "siim94_2018", "7.4.2", "Finances\t340", "Corriger le total en 345", "SIIM94", 2018, "activite", 2018, None),
    ("data/raw/siim94_2018.txt", 800, "text.table", "error",
     "Le texte cite 1407 agents, le tableau 1 467", "1407", "1467", "Formations",
     "siim94_2018", "9.2", "1407 agents", "Remplacer 1407 par 1 467", "SIIM94", 2018, "formations", 2018, None),
]

# Added for the ressources humaines notebook (tables that were empty before).
# org, exercice, report_year, document_id, line, date, filiere, categorie, grade, emplois, titulaires,
# contractuels, pourvus
EFFECTIFS = [
    ("SIIM94", 2017, 2017, "siim94_2017", 1000, "2017-12-31", "technique", "A", "Ingénieur", 12.0, 10.0, 1.0, 11.0),
    ("SIIM94", 2017, 2017, "siim94_2017", 1001, "2017-12-31", "administrative", "B", "Rédacteur", 6.0, 5.0, 1.0, 6.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 1000, "2018-12-31", "technique", "A", "Ingénieur", 13.0, 10.0, 2.0, 12.0),
    ("SIIM94", 2018, 2018, "siim94_2018", 1001, "2018-12-31", "administrative", "B", "Rédacteur", 6.0, 5.0, 0.0, 5.0),
]

# org, exercice, report_year, document_id, line, domaine, indicateur, valeur, unite
INDICATEURS = [
    ("SIIM94", 2017, 2017, "siim94_2017", 1010, "rh", "Jours de formation des agents du syndicat", 95.0, "jours"),
    ("SIIM94", 2018, 2018, "siim94_2018", 1010, "rh", "Jours de formation des agents du syndicat", 110.0, "jours"),
]


def build_fixture_store(path: Path, empty: bool = False) -> Path:
    """Write the fixture store at `path` (``empty=True``: schema and documents only)."""
    con = duckdb.connect(str(path))
    create_schema(con)
    for doc_id, org, year, p in DOCS:
        con.execute("INSERT INTO documents (document_id, org, report_year, path, sha256, n_lines) "
                    "VALUES (?, ?, ?, ?, 'x', 1000)", [doc_id, org, year, p])
    if not empty:
        cols = "org, exercice, report_year, document_id, line"
        con.executemany(f"INSERT INTO contributions ({cols}, adherent, categorie, montant) "
                        "VALUES (?,?,?,?,?,?,?,?)", CONTRIBUTIONS)
        con.executemany(f"INSERT INTO activite ({cols}, pole, axe, categorie, jours) "
                        "VALUES (?,?,?,?,?,?,?,?,?)", ACTIVITE)
        con.execute("UPDATE activite SET categorie_norm = categorie")
        con.executemany(f"INSERT INTO finances ({cols}, section, sens, chapitre, libelle, prevu, realise, reports) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", FINANCES)
        con.executemany(f"INSERT INTO formations ({cols}, type, agents, jours) VALUES (?,?,?,?,?,?,?,?)",
                        FORMATIONS)
        con.executemany(f"INSERT INTO tickets ({cols}, entite, tickets) VALUES (?,?,?,?,?,?,?)", TICKETS)
        con.executemany(f"INSERT INTO effectifs ({cols}, date, filiere, categorie, grade, emplois, titulaires, "
                        "contractuels, pourvus) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", EFFECTIFS)
        con.executemany(f"INSERT INTO indicateurs ({cols}, domaine, indicateur, valeur, unite) "
                        "VALUES (?,?,?,?,?,?,?,?,?)", INDICATEURS)
        con.executemany('INSERT INTO findings (document, line, rule, severity, message, found, expected, "table", '
                        "document_id, section, source_line, suggestion, org, report_year, family, exercice, key) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", FINDINGS)
        _series_keys(con)
    from pipelines.curate.views import create_views

    create_views(con)
    con.close()
    return path


def _series_keys(con) -> None:
    """Concept, measure and perimeter as the curation sets them (the series key)."""
    for sql in (
        "UPDATE activite SET concept = categorie_norm, mesure = 'jours', perimetre = pole || '/' || axe, "
        "niveau = CASE WHEN categorie ILIKE 'total%' THEN 'total' ELSE 'detail' END, source = 'tableau'",
        "UPDATE contributions SET concept = adherent, mesure = categorie, perimetre = '', niveau = 'detail', "
        "source = 'tableau', adherent_imprime = adherent, "
        "lignee = CASE adherent WHEN 'OPALY' THEN 'VALDEVY' ELSE adherent END",
        "UPDATE finances SET concept = chapitre, mesure = 'realise', perimetre = section || '/' || sens, "
        "niveau = 'detail', source = 'tableau'",
        "UPDATE formations SET concept = type, mesure = 'agents', perimetre = '', source = 'tableau', type_imprime = type",
        "UPDATE tickets SET concept = entite, mesure = 'tickets', perimetre = '', source = 'tableau', "
        "entite_imprimee = entite",
        "UPDATE effectifs SET concept = lower(grade), mesure = 'emplois', perimetre = filiere, niveau = 'detail', "
        "source = 'tableau'",
        "UPDATE indicateurs SET concept = lower(indicateur), mesure = coalesce(unite, ''), perimetre = domaine, "
        "source = 'tableau'",
    ):
        con.execute(sql)

"""Vues `<famille>_latest` et `restatements` (remplies par l'étape de curation)."""


def create_views(con) -> None:
    return None

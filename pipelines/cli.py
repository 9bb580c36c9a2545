"""`bilans` : la ligne de commande de l'atelier (contrat : ARCHITECTURE.md).

Each sub-command imports its stage lazily so that `bilans check` does not pay
for papermill or Voilà, and `bilans extract` does not pay for Great Expectations.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from pathlib import Path

from pipelines.catalogue import codes_organismes, poles
from pipelines.errors import BilansError, Terminated
from pipelines.manifest import parse_org, parse_year
from pipelines.terminal import (
    console_encoding,
    filtered_output,
    forget_signals,
    interrupt,
    interrupted,
    os_error_fr,
    reader_gone,
    safe,
    terminate,
    terminated,
)


def _cache_beside(db: str) -> None:
    """PDF and DOCX text layers are cached beside the store they feed."""
    from pipelines.extract import cache

    cache.use(Path(db).parent / "cache")


def _build(args: argparse.Namespace) -> int:
    from pipelines.sidecar import checks_aside

    # Great Expectations starts importing in its process aside before the build's own imports
    with checks_aside(enabled=not args.no_validate) as checks:
        from pipelines.build import build

        _cache_beside(args.db)
        return build(raw_dir=Path(args.raw), db_path=Path(args.db), validate=not args.no_validate,
                     force=args.force, checks=checks)


def _extract(args: argparse.Namespace) -> int:
    from pipelines.extract.show import show

    _cache_beside(args.db)
    return show(Path(args.file), as_json=args.json)


def _check(args: argparse.Namespace) -> int:
    from pipelines.check import check
    from pipelines.store import find_store, refuse_folder

    db, how = find_store(args.db)
    refuse_folder(db, how)
    if db is not None:
        _cache_beside(str(db))
        args.db = str(db)
    if args.since or args.watch or args.html:
        if args.annotate:
            raise BilansError("--annotate se donne sans --since ni --watch : annoter un brouillon, c'est un contrôle "
                              "simple (bilans check BROUILLON --annotate SORTIE)")
        return _authors_loop(args, db)
    return check([Path(f) for f in args.files], org=args.org, year=args.year, as_json=args.json, db_path=db,
                 annotate=Path(args.annotate) if args.annotate else None, include_info=args.all)


def _authors_loop(args: argparse.Namespace, db: Path | None) -> int:
    """--since (two versions compared) and --watch (a re-check on every save): pipelines.live."""
    from pipelines import live

    files = [Path(f) for f in args.files]
    if args.html and not args.since:
        raise BilansError("--html demande --since : la page compare deux versions d'un rapport")
    if args.watch:
        return live.watch(files, org=args.org, year=args.year, as_json=args.json, db_path=db)
    return live.check_since(files, Path(args.since), org=args.org, year=args.year, as_json=args.json,
                            db_path=db, html_out=Path(args.html) if args.html else None)


def _report(args: argparse.Namespace) -> int:
    from pipelines.publish.authors import write_reports

    return write_reports(db_path=Path(args.db), out_dir=Path(args.out))


def _run(args: argparse.Namespace) -> int:
    from pipelines.publish.runs import run_notebooks

    return run_notebooks(db_path=Path(args.db), org=args.org, year=args.year, pole=args.pole,
                         workers=args.workers, force=args.force, prune=args.prune,
                         scheduler=args.scheduler, pool=args.pool)


def _briefing(args: argparse.Namespace) -> int:
    from pipelines.publish.briefing import serve_or_export

    return serve_or_export(db_path=Path(args.db), port=args.port, export_dir=args.export)


def _year(text: str) -> int:
    try:
        return parse_year(text)
    except BilansError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"entier positif attendu : « {text} »")
    return value


def _org(text: str) -> str:
    try:
        return parse_org(text)
    except BilansError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# argparse's own English, as French; the rest of an argparse message is kept as is.
_FR = ((r"^usage: ", "utilisation : "), (r"\npositional arguments:\n", "\narguments positionnels :\n"),
       (r"\noptions:\n", "\noptions :\n"), (r"show this help message and exit", "afficher cette aide et quitter"),
       (r"the following arguments are required: ", "arguments obligatoires manquants : "),
       (r"unrecognized arguments: ", "arguments inconnus : "), (r"invalid choice: ", "choix invalide : "),
       (r"\(choose from ", "(valeurs possibles : "), (r"invalid int value: '(.*)'$", r"nombre entier attendu : « \1 »"),
       (r"invalid float value: '(.*)'$", r"nombre attendu : « \1 »"), (r"invalid (\w+) value: ", r"valeur invalide (\1) : "),
       (r"expected one argument", "une valeur attendue"), (r"^argument ([^:]+): ", r"argument \1 : "),
       (r"not allowed with argument ", "incompatible avec l'argument "))


def _fr(text: str) -> str:
    for pattern, french in _FR:
        text = re.sub(pattern, french, text, flags=re.MULTILINE)
    return text


class _Parser(argparse.ArgumentParser):
    """argparse in French: usage, help headings and error messages; an error is one line
    after the usage line, exit 2 (the code of every refused input)."""

    def format_usage(self) -> str:
        return _fr(super().format_usage())

    def format_help(self) -> str:
        return _fr(super().format_help())

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {safe(_fr(message))}\n")


_DB_HELP = ("magasin DuckDB, avant ou après la sous-commande (défaut : data/curated/bilans.duckdb ; bilans "
            "check cherche aussi BILANS_DB, puis le projet du dossier courant, puis celui du paquet installé)")


def _store_option(p: argparse.ArgumentParser, default=argparse.SUPPRESS) -> None:
    """--db on the main parser and on every sub-command (all read or write the store): given after
    the sub-command it wins, absent there it leaves the main parser's value (SUPPRESS)."""
    p.add_argument("--db", default=default, metavar="CHEMIN", help=_DB_HELP)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bilans", description=f"Atelier bilans : bilans d'activité {' / '.join(codes_organismes())}")
    _store_option(p, default=None)
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="extraire, curer et valider tous les documents du manifeste (texte, PDF, DOCX)")
    b.add_argument("--raw", default="data/raw", help="dossier des rapports et du manifeste")
    b.add_argument("--no-validate", action="store_true", help="ne pas lancer les contrôles")
    b.add_argument("--force", action="store_true",
                   help="construire même si le magasin perdrait des documents (ou n'en aurait aucun)")
    b.set_defaults(func=_build)

    e = sub.add_parser("extract", help="montrer comment un rapport (texte, PDF, DOCX) est lu : tableaux, cellules")
    e.add_argument("file", metavar="FICHIER", help="rapport à lire (.txt, .md, .pdf, .docx)")
    e.add_argument("--json", action="store_true", help="écrire la lecture en JSON (tableaux, cellules, lignes)")
    e.set_defaults(func=_extract)

    c = sub.add_parser("check", help="contrôler un ou plusieurs rapports (brouillons compris)")
    c.add_argument("files", nargs="+", metavar="FICHIER", help="rapports ou brouillons à contrôler (.txt, .md, .pdf, .docx)")
    c.add_argument("--org", type=_org, metavar="ORGANISME",
                   help=f"organisme ({', '.join(codes_organismes())}, casse indifférente)")
    c.add_argument("--year", type=_year, metavar="ANNÉE", help="année du bilan")
    c.add_argument("--json", action="store_true",
                   help="écrire les constats en JSON (un tableau ; une ligne par contrôle avec --watch)")
    loop = c.add_mutually_exclusive_group()
    loop.add_argument("--since", metavar="ANCIEN",
                      help="version précédente : constats corrigés, toujours présents, nouveaux")
    loop.add_argument("--watch", action="store_true",
                      help="recontrôler à chaque enregistrement (Ctrl-C pour arrêter)")
    c.add_argument("--html", metavar="PAGE", help="avec --since : page HTML des trois listes pour les auteurs")
    c.add_argument("--annotate", metavar="SORTIE",
                   help="écrire une copie du brouillon DOCX ou PDF avec un commentaire par constat "
                        "(un dossier pour plusieurs brouillons)")
    c.add_argument("--all", action="store_true", help="avec --annotate : annoter aussi les informations")
    c.set_defaults(func=_check)

    r = sub.add_parser("report", help="rapports de validation pour les auteurs + Data Docs")
    r.add_argument("--out", default="reports", metavar="DOSSIER",
                   help="dossier des rapports pour les auteurs (validation/) et des Data Docs (défaut : reports)")
    r.set_defaults(func=_report)

    n = sub.add_parser("run", help="exécuter les carnets paramétrés (papermill)")
    n.add_argument("--org", type=_org, metavar="ORGANISME",
                   help=f"organisme ({', '.join(codes_organismes())}, casse indifférente)")
    n.add_argument("--year", type=_year, metavar="ANNÉE", help="année du bilan")
    n.add_argument("--pole", metavar="PÔLE", help=f"{', '.join(p.nom for p in poles())}, ou un carnet")
    n.add_argument("--workers", type=_positive, default=None, metavar="N",
                   help="processus du cluster Dask local lancé pour l'exécution (défaut : un par cœur)")
    n.add_argument("--scheduler", metavar="tcp://HÔTE:PORT",
                   help="envoyer les exécutions à un ordonnanceur Dask existant (reports/ et le magasin "
                        "partagés, même chemin sur chaque worker)")
    n.add_argument("--pool", action="store_true",
                   help="pool de processus local au lieu du cluster Dask local (sans Dask)")
    n.add_argument("--force", action="store_true", help="refaire même les exécutions à jour")
    n.add_argument("--prune", action="store_true",
                   help="supprimer les sorties d'exécutions qui n'existent plus dans le magasin")
    n.set_defaults(func=_run)

    f = sub.add_parser("briefing", help="servir le tableau de bord des élus (Voilà)")
    f.add_argument("--port", type=int, default=8866, help="port HTTP du tableau de bord (défaut : 8866)")
    f.add_argument("--export", default=None, help="écrire des pages HTML statiques dans ce dossier")
    f.set_defaults(func=_briefing)
    for command in (b, e, c, r, n, f):
        _store_option(command)
    return p


def main(argv: list[str] | None = None) -> int:
    with console_encoding():
        args = parser().parse_args(argv)
    args.db_given = "--db"  # where the store path comes from, for the message that refuses it
    if args.db is None and args.command != "check":  # bilans check finds its store (pipelines.store.find_store)
        from pipelines.store import DEFAULT_DB, resolve_store

        # the dashboard reads the store of the notebooks: $BILANS_DB when set (store.resolve_store)
        args.db = str(resolve_store(None) if args.command == "briefing" else DEFAULT_DB)
        if args.command == "briefing" and os.environ.get("BILANS_DB"):
            args.db_given = "BILANS_DB"
    if threading.current_thread() is not threading.main_thread():  # signals are for the main thread only
        with filtered_output(stdout=not getattr(args, "json", False)):
            return _dispatch(args)
    forget_signals()
    previous = signal.signal(signal.SIGTERM, terminate)
    previous_int = signal.signal(signal.SIGINT, interrupt)
    try:
        with filtered_output(stdout=not getattr(args, "json", False)):
            return _dispatch(args)
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if args.db is not None and Path(args.db).is_dir():  # store.py (and DuckDB) only when it has to speak
            from pipelines.store import refuse_folder

            refuse_folder(args.db, args.db_given)
        return int(args.func(args) or 0)
    except BilansError as exc:
        print(f"bilans : {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `bilans extract … | head`: a command without a verdict
        reader_gone()
        return 0
    except OSError as exc:  # a --db, --out or --raw that is a folder, unwritable, on a full disk…
        print(f"bilans : {os_error_fr(exc)}", file=sys.stderr)
        return 2
    except Terminated:
        print("bilans : arrêté (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        if getattr(args, "watch", False):  # before watch() has started watching: stopped all the same
            from pipelines.live import WATCH_STOPPED

            print(WATCH_STOPPED, file=sys.stderr, flush=True)
            return 0
        print("bilans : interrompu", file=sys.stderr)
        return 130
    except Exception as exc:
        if interrupted():  # DuckDB's error for a Ctrl-C (or SIGTERM) that landed during a query
            stopped = terminated()
            print("bilans : arrêté (SIGTERM)" if stopped else "bilans : interrompu", file=sys.stderr)
            return 143 if stopped else 130
        if type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb"):
            raise
        # an unreadable store: not a DuckDB file, a folder, locked by a build of another version…
        from pipelines.store import unreadable_store

        print(f"bilans : {unreadable_store(args.db, exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

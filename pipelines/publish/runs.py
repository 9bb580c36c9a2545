"""`bilans run` : exécution papermill des carnets par organisme × bilan × carnet.

One run = (org, report year, template) with data in the store. Runs are
independent tasks sent to Dask distributed: an existing cluster (`scheduler`,
« tcp://HOST:PORT »), or by default a local cluster of `workers` processes
started for the run; `pool=True` keeps the plain local process pool (no Dask).
The workers write the outputs into `out_dir` themselves (a folder every worker
sees at the same path); only the caller reads the store's fingerprints and
writes the state file, so a worker needs the atelier installed, the store and
the templates, nothing else.
A run is skipped when its inputs have not changed since its last success:
the fingerprint hashes the template, the shared code the notebooks call, the
parameters, and the store rows the notebook can read (org, report_year <= year).
Planning and fingerprinting never start a kernel nor import papermill, so a
run with nothing to do costs an interpreter, DuckDB and a few queries.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import duckdb

from pipelines import catalogue
from pipelines.errors import BilansError
from pipelines.publish import analyses, fmt, registre
from pipelines.terminal import duree, nombre, pluriel, safe

TEMPLATES_DIR = analyses.ROOT / "notebooks"
OUT_DIR = Path("reports/analyses")
STATE_FILE = ".state.json"
# Code executed by every notebook: a change re-runs everything.
SHARED_CODE = (*sorted(Path(analyses.__file__).parent.glob("*.py")), Path(fmt.__file__),
               Path(__file__).with_name("comparaison.py"), Path(__file__).with_name("dessin.py"),
               *sorted(Path(__file__).with_name("gabarits").rglob("*.*")))
CELL_TIMEOUT_S = 600
# nbconvert template: JupyterLab's export without the scripts it loads from the network
GABARITS = Path(__file__).with_name("gabarits")
GABARIT = "bilans"
# Pseudo-table of the fingerprint: the publication.* findings the qualité page lists.
PUBLICATION_FINDINGS = "constats_publications"
# The local cluster `bilans run` starts: 127.0.0.1 only, one thread per worker process (see execute),
# no dashboard (its HTTP server, health routes only, on a free port: 8787 may be another cluster's),
# no log chatter, not even the heartbeat errors of workers outliving the scheduler at shutdown (a
# worker that dies is a failed run anyway).
LOCAL_CLUSTER = {"threads_per_worker": 1, "processes": True, "host": "127.0.0.1", "dashboard_address": None,
                 "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"}, "silence_logs": logging.CRITICAL}
# Seconds to reach an existing Dask scheduler before giving up with a one-line message.
CONNECT_TIMEOUT_S = 10
# execute() redirects fd 2 and sets an environment variable for the kernel it starts: both are
# per process, so a Dask worker with several threads runs its notebooks one after the other.
_ONE_NOTEBOOK_PER_PROCESS = threading.Lock()


@dataclass(frozen=True)
class Run:
    org: str
    year: int
    template: str

    @property
    def key(self) -> str:
        return f"{self.org}/{self.year}/{self.template}"

    def label(self) -> str:
        return f"{self.org} {self.year} {self.template}"


def _template_filter(pole: str | None) -> set[str]:
    """`--pole`: a template's name, or a pôle's (pipelines/catalogue/carnets.toml)."""
    if not pole:
        return set(analyses.TEMPLATES)
    name = pole.lower()
    if name in analyses.TEMPLATES:
        return {name}
    found = {p.carnet for p in catalogue.poles() if p.nom == name}
    if found:
        return found
    raise BilansError(f"pôle ou carnet inconnu : {pole} (attendu : {', '.join(analyses.TEMPLATES)}, "
                      f"ou {', '.join(p.nom for p in catalogue.poles())})")


def plan(con: duckdb.DuckDBPyConnection, org: str | None = None, year: int | None = None,
         pole: str | None = None, templates: tuple[str, ...] = analyses.TEMPLATES) -> list[Run]:
    """Every (org, report year, template) that has data, in a stable order.

    `exploration` is run once per organisme, on its latest report.
    """
    wanted = _template_filter(pole) & set(templates)
    present = analyses.tables_presentes(con)
    docs = con.execute("SELECT DISTINCT org, report_year FROM documents WHERE report_year IS NOT NULL "
                       "ORDER BY org, report_year").fetchall()
    latest_year = {}
    for o, y in docs:
        latest_year[o] = max(y, latest_year.get(o, y))
    runs = []
    for o, y in docs:
        if (org and o != org) or (year and y != year):
            continue
        for t in templates:
            if t not in wanted:
                continue
            if t == "exploration" and y != latest_year[o]:
                continue
            if analyses.has_data(con, o, y, t, present):
                runs.append(Run(o, y, t))
    return runs


class Fingerprints:
    """Input hashes; table digests are cached per (table, org, year) since templates share tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection, db_path: Path, templates_dir: Path):
        self.con = con
        self.db_path = db_path
        self.templates_dir = templates_dir
        self.present = analyses.tables_presentes(con)
        self._tables: dict[tuple, str] = {}
        self._files: dict[Path, str] = {}
        self.code = "".join(self._file(p) for p in SHARED_CODE)

    def _file(self, path: Path) -> str:
        if path not in self._files:
            self._files[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return self._files[path]

    def _table(self, table: str, org: str, year: int) -> str:
        key = (table, org, year)
        if key not in self._tables:
            if table not in self.present:
                digest = "absent"
            elif table == PUBLICATION_FINDINGS:  # the workbench's own findings, by the page's org and year
                digest = self.con.execute(
                    "SELECT count(*), sum(hash(t)) FROM findings t WHERE document_id IS NULL AND org = ? "
                    "AND report_year = ?", [org, year]).fetchone()
            elif table == "findings":
                digest = self.con.execute(
                    "SELECT count(*), sum(hash(t)) FROM findings t JOIN documents d USING (document_id) "
                    "WHERE d.org = ? AND d.report_year <= ?", [org, year]).fetchone()
            else:
                digest = self.con.execute(f'SELECT count(*), sum(hash(t)) FROM "{table}" t '
                                          "WHERE org = ? AND report_year <= ?", [org, year]).fetchone()
            self._tables[key] = str(digest)
        return self._tables[key]

    def parameters(self, run: Run) -> dict:
        return {"org": run.org, "year": run.year, "db_path": str(self.db_path)}

    def of(self, run: Run) -> str:
        h = hashlib.sha256()
        h.update(self._file(self.templates_dir / f"{run.template}.ipynb").encode())
        h.update(self.code.encode())
        h.update(json.dumps(self.parameters(run), sort_keys=True).encode())
        extra = (PUBLICATION_FINDINGS,) if run.template == "qualite" else ()
        for table in ("documents", "findings", *analyses.TABLES[run.template], *extra):
            h.update(f"{table}={self._table(table, run.org, run.year)};".encode())
        return h.hexdigest()


# ---------------------------------------------------------------- execution (worker side)

def to_html(notebook_path: Path, title: str) -> Path:
    """HTML beside the notebook, code cells hidden (outputs escape source text themselves)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            template_name=GABARIT, extra_template_basedirs=[str(GABARITS)], language_code="fr")
    nb = nbformat.read(notebook_path, as_version=4)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    target = notebook_path.with_suffix(".html")
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, target)
    return target


def execute(task: dict) -> dict:
    """Run one notebook and export it; never raises (failures are reported, not propagated).

    task: key, template, output (absolute paths), parameters, cwd, title. Returns key, status
    (« ok » or « échec »), error, duration (s), titre."""
    with _ONE_NOTEBOOK_PER_PROCESS:
        return _execute(task)


def _execute(task: dict) -> dict:
    import papermill as pm

    start = time.perf_counter()
    output = Path(task["output"])
    output.parent.mkdir(parents=True, exist_ok=True)
    status, error = "ok", None
    # The kernel inherits this worker's stderr: keep its chatter out of the progress lines.
    log = os.open(output.with_name(f".{output.stem}.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved_stderr = os.dup(2)
    os.dup2(log, 2)
    os.close(log)
    sidecar = registre.sidecar_of(output)
    sidecar.unlink(missing_ok=True)
    os.environ[registre.ENV] = str(sidecar)  # the kernel papermill starts inherits it: its figures go there
    try:
        pm.execute_notebook(task["template"], str(output), parameters=task["parameters"],
                            kernel_name="python3", cwd=task["cwd"], progress_bar=False, log_output=False,
                            execution_timeout=CELL_TIMEOUT_S)
    except pm.PapermillExecutionError as exc:
        status, error = "échec", f"cellule {exc.exec_count} : {exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel death, missing template, timeout...
        status, error = "échec", f"{type(exc).__name__}: {exc}"
    finally:
        os.environ.pop(registre.ENV, None)
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
    titre = None
    if output.exists():
        try:  # also for a failed run: the analyst sees where it stopped
            to_html(output, task["title"])
            titre = a_la_une(output)
        except Exception as exc:
            if status == "ok":
                status, error = "échec", f"export HTML : {type(exc).__name__}: {exc}"
    return {"key": task["key"], "status": status, "error": error, "duration": time.perf_counter() - start,
            "titre": titre}


def vignette_path(notebook_path: Path) -> Path:
    return notebook_path.with_name(f".{notebook_path.stem}.vignette.svg")


def a_la_une(notebook_path: Path) -> str | None:
    """The run's headline (computed by the notebook) and a thumbnail of its first chart, for the index."""
    import nbformat

    from pipelines.publish import dessin

    nb = nbformat.read(notebook_path, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    titre = next((o["metadata"][analyses.A_LA_UNE] for o in outputs
                  if analyses.A_LA_UNE in o.get("metadata", {})), None)
    spec = next((o["data"][dessin.JUPYTER_VEGALITE] for o in outputs
                 if dessin.JUPYTER_VEGALITE in o.get("data", {})), None)
    target = vignette_path(notebook_path)
    if spec is not None:
        _write_atomic(target, dessin.vignette(spec))
    else:
        target.unlink(missing_ok=True)
    return titre


# ---------------------------------------------------------------- orchestration

def _load_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {"version": 1, "runs": {}}


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def run_notebooks(db_path: str | os.PathLike, org: str | None = None, year: int | None = None,
                  pole: str | None = None, workers: int | None = None, force: bool = False,
                  out_dir: str | os.PathLike = OUT_DIR, templates_dir: str | os.PathLike | None = None,
                  templates: tuple[str, ...] = analyses.TEMPLATES, echo=print, prune: bool = False,
                  scheduler: str | None = None, pool: bool = False) -> int:
    """Execute every run with data (filtered), skipping up-to-date ones. Exit code: 1 if any failed.

    The runs go to the Dask scheduler at `scheduler` (« tcp://HOST:PORT »), else to a local
    cluster of `workers` processes (default: one per core), or with `pool` to a local process
    pool. Raises BilansError when the store is missing or the scheduler cannot be reached.

    Outputs of runs absent from the plan (their store rows are gone, or exploration moved to a
    later bilan) are listed, and deleted only with `prune`; a filtered run never deletes anything.
    """
    started = time.perf_counter()
    if scheduler and (workers or pool):
        raise BilansError("--scheduler envoie les exécutions à un ordonnanceur existant : "
                          "--workers et --pool ne s'y appliquent pas")
    db = Path(db_path).resolve()
    out = Path(out_dir).resolve()
    tdir = Path(templates_dir).resolve() if templates_dir else TEMPLATES_DIR
    if not db.exists():
        raise BilansError(f"magasin introuvable : {db_path} (lancez d'abord « bilans build »)")
    state_path = out / STATE_FILE
    state = _load_state(state_path)
    known = state.setdefault("runs", {})

    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = plan(con, org, year, pole, templates)
        fps = Fingerprints(con, db, tdir)
        fingerprints = {r.key: fps.of(r) for r in runs}
        params = {r.key: fps.parameters(r) for r in runs}
        complete = not (org or year or pole)
        if not runs and not complete:
            present = con.execute("SELECT DISTINCT org, report_year FROM documents ORDER BY 1, 2").fetchall()
            echo("Aucune exécution pour ce filtre ; bilans du magasin : "
                 + (", ".join(f"{o} {y}" for o, y in present) or "aucun") + ".")
        outdated = [] if complete else _outdated_outside(fps, known, set(fingerprints), tdir)
    finally:
        con.close()

    def up_to_date(r: Run) -> bool:
        prev = known.get(r.key, {})
        nb = out / r.org / str(r.year) / f"{r.template}.ipynb"
        return (prev.get("status") == "ok" and prev.get("fingerprint") == fingerprints[r.key]
                and nb.exists() and nb.with_suffix(".html").exists())

    todo = [r for r in runs if force or not up_to_date(r)]
    skipped = len(runs) - len(todo)
    if complete:
        _stale_outputs(out, known, {r.key for r in runs}, prune, echo)

    echo(f"{pluriel(len(runs), 'exécution prévue', 'exécutions prévues')} : {nombre(len(todo))} à faire, "
         f"{nombre(skipped)} à jour ({pluriel(skipped, 'ignorée', 'ignorées', False)}).")
    failures: list[tuple[Run, str]] = []
    if todo:
        n_workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        tasks = [{"key": r.key, "template": str(tdir / f"{r.template}.ipynb"),
                  "output": str(out / r.org / str(r.year) / f"{r.template}.ipynb"),
                  "parameters": params[r.key], "cwd": str(analyses.ROOT),
                  "title": f"{analyses.TITRES[r.template]} — {r.org}, bilan {r.year}"} for r in todo]
        by_key = {r.key: r for r in todo}
        for i, res in enumerate(_results(tasks, n_workers, scheduler, pool), 1):
            run = by_key[res["key"]]
            echo(f"[{nombre(i)}/{nombre(len(todo))}] {run.label()} : {res['status']} ({duree(res['duration'])})"
                 + (f" — {res['error']}" if res["error"] else ""))
            known[run.key] = {
                "titre": res.get("titre"),
                "fingerprint": fingerprints[run.key] if res["status"] == "ok" else None,
                "status": res["status"], "error": res["error"], "duration": round(res["duration"], 2),
                "finished": dt.datetime.now().isoformat(timespec="seconds"),
            }
            if res["status"] != "ok":
                failures.append((run, res["error"] or ""))
            # state saved as we go: an interrupted run keeps what succeeded
            _write_atomic(state_path, json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True))
    _write_atomic(state_path, json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True))
    write_index(out, known)
    ok = len(todo) - len(failures)
    echo(f"Terminé en {duree(time.perf_counter() - started)} : {pluriel(ok, 'réussie', 'réussies')}, "
         f"{nombre(len(failures))} en échec, {pluriel(skipped, 'ignorée', 'ignorées')} car à jour. Index : {out / 'index.html'}")
    for run, error in failures:
        echo(f"  échec : {run.label()} — {error}")
    if outdated:
        from pipelines.validate.publications import abrege

        echo(f"{pluriel(len(outdated), 'page hors du filtre n’est plus à jour du magasin, ses chiffres ne sont', 'pages hors du filtre ne sont plus à jour du magasin, leurs chiffres ne sont')} "
             f"pas contrôlés : {abrege([safe(k) for k in outdated])} (« bilans run » sans filtre les refait).")
    # a filtered run answers for the pages of its filter: errors elsewhere are said, not counted
    erreurs = controler_publications(db, out, known, echo, skip=set(outdated),
                                     perimetre=None if complete else {f"analyses/{k}" for k in fingerprints})
    return 1 if failures or erreurs else 0


def _results(tasks: list[dict], n_workers: int, scheduler: str | None, pool: bool) -> Iterator[dict]:
    """execute(task) for every task, as the runs finish; a run whose worker died is a failure."""
    if pool:
        # spawn: workers inherit no DuckDB handle nor thread state from the caller
        with ProcessPoolExecutor(max_workers=n_workers, mp_context=get_context("spawn")) as executor:
            futures = {executor.submit(execute, t): t for t in tasks}
            for fut in as_completed(futures):
                yield _result_of(fut, futures[fut])
        return
    from distributed import as_completed as dask_completed

    with _dask_client(scheduler, n_workers) as client:
        futures = {}
        for t in tasks:  # pure=False: a run redone with the same inputs (--force) is executed again
            futures[client.submit(execute, t, pure=False, key=f"bilans-run-{t['key']}-{os.urandom(4).hex()}")] = t
        for fut in dask_completed(list(futures), loop=client.loop):
            yield _result_of(fut, futures[fut])


def _result_of(future, task: dict) -> dict:
    try:
        return future.result()
    except Exception as exc:  # the worker process itself died (KilledWorker, BrokenProcessPool…)
        return {"key": task["key"], "status": "échec", "error": f"{type(exc).__name__}: {exc}", "duration": 0.0}


@contextmanager
def _dask_client(scheduler: str | None, n_workers: int):
    """A Dask client on the scheduler at `scheduler`, or on a local cluster started for the run
    (LOCAL_CLUSTER)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except Exception as exc:  # OSError, TimeoutError, ValueError on a malformed address…
            raise BilansError(f"ordonnanceur Dask injoignable : {scheduler} ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'délai dépassé'})") from None
        with client:
            yield client
        return
    with (LocalCluster(n_workers=n_workers, **LOCAL_CLUSTER) as cluster,
          Client(cluster, set_as_default=False) as client):
        yield client


def controler_publications(db: Path, out: Path, known: dict, echo=print, skip: set[str] = frozenset(),
                           perimetre: set[str] | None = None) -> int:
    """Gather the figures of every page of the index (runs skipped as unchanged included: their sidecar
    stays beside their notebook) but those of `skip` (keys « org/année/carnet ») into `publications`, and
    check them (suite `publications`). Returns the errors on the pages of `perimetre` (all when None)."""
    from pipelines.validate.publications import controler

    # outputs kept although their run left the store (« absente »), or computed from an older store
    # (`skip`), are not publications of this store
    sidecars = [registre.sidecar_of(out / f"{key}.ipynb") for key in sorted(known)
                if not known[key].get("absente") and key not in skip]
    return controler(db, registre.lire(sidecars), "analyses/", echo, perimetre=perimetre)


def _outdated_outside(fps: Fingerprints, known: dict, planned: set[str], templates_dir: Path) -> list[str]:
    """Keys of the outputs of earlier runs outside this run's filter that are not up to date with the
    store: their last run failed, or their inputs (store rows, template, shared code) changed since,
    so their figures are those of an older store. Outputs of runs gone from the store are not listed
    (« absente » : a run of the whole store lists them)."""
    out = []
    for key in sorted(set(known) - planned):
        info = known[key]
        if info.get("absente"):
            continue
        org, year, template = key.split("/")
        current = (info.get("status") == "ok" and year.isdigit() and (templates_dir / f"{template}.ipynb").exists()
                   and info.get("fingerprint") == fps.of(Run(org, int(year), template)))
        if not current:
            out.append(key)
    return out


def _outputs_on_disk(out: Path) -> set[str]:
    """Keys « org/année/carnet » of every executed notebook under out (the state file may be lost)."""
    return {f"{p.parent.parent.name}/{p.parent.name}/{p.stem}" for p in out.glob("*/*/*.ipynb")
            if p.parent.name.isdigit() and not p.name.startswith(".")}


def _stale_outputs(out: Path, known: dict, planned: set[str], prune: bool, echo) -> None:
    """List (or, with prune, delete) the outputs of runs that are no longer planned."""
    for key in planned & set(known):
        known[key].pop("absente", None)
    stale = sorted((set(known) | _outputs_on_disk(out)) - planned)
    if not stale:
        return
    if not prune:
        echo(f"{pluriel(len(stale), 'sortie d’exécution absente du magasin, gardée', 'sorties d’exécutions absentes du magasin, gardées')} : "
             f"{', '.join(safe(k) for k in stale)} (« bilans run --prune » pour les supprimer).")
        for key in stale:
            known[key] = {**known.get(key, {}), "absente": True}
        return
    for key in stale:
        for suffix in (".ipynb", ".html"):
            (out / f"{key}{suffix}").unlink(missing_ok=True)
        vignette_path(out / f"{key}.ipynb").unlink(missing_ok=True)
        registre.sidecar_of(out / f"{key}.ipynb").unlink(missing_ok=True)
        known.pop(key, None)
    echo(f"{pluriel(len(stale), 'sortie d’exécution absente du magasin supprimée', 'sorties d’exécutions absentes du magasin supprimées')} : {', '.join(safe(k) for k in stale)}.")


def _vignette_html(out: Path, key: str, name: str) -> str:
    """The run's first chart, small, drawn in the index itself (an SVG image: no script can run)."""
    path = vignette_path(out / f"{key}.ipynb")
    if not path.exists():
        return '<span class="vide">pas de graphique</span>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(f"Aperçu du premier graphique : {name}")}" src="data:image/svg+xml;base64,{data}">'


def _entree(out: Path, o: str, y: int, t: str, info: dict) -> str:
    base = f"{html.escape(o)}/{y}/{html.escape(t)}"
    name = analyses.TITRES.get(t, t)
    flag = "" if info.get("status") in ("ok", None) else ' <b class="ko">(échec de la dernière exécution)</b>'
    if info.get("absente"):
        flag += ' <b class="ko">(plus dans le magasin)</b>'
    if (out / o / str(y) / f"{t}.html").exists():
        lien = (f'<a href="{base}.html">{html.escape(name)}</a> '
                f'<small>(<a href="{base}.ipynb">carnet</a>)</small>{flag}')
    else:
        lien = f"{html.escape(name)}{flag}"
    titre = f'<p class="une">{html.escape(info["titre"])}</p>' if info.get("titre") else ""
    return (f'<li><div class="vignette">{_vignette_html(out, f"{o}/{y}/{t}", name)}</div>'
            f"<div>{lien}{titre}</div></li>")


def write_index(out: Path, known: dict) -> Path:
    """reports/analyses/index.html: every analysis by organisme and bilan, with its headline and a
    thumbnail of its first chart, so that a reader finds the page they want without opening them all."""
    entries: dict[str, dict[int, list[tuple[str, dict]]]] = {}
    for key, info in known.items():
        o, y, t = key.split("/")
        entries.setdefault(o, {}).setdefault(int(y), []).append((t, info))
    order = {t: i for i, t in enumerate(analyses.TEMPLATES)}
    parts = []
    for o in sorted(entries):
        parts.append(f"<h2>{html.escape(o)}</h2>")
        for y in sorted(entries[o], reverse=True):
            items = [_entree(out, o, y, t, info) for t, info in sorted(entries[o][y], key=lambda e: order.get(e[0], 99))]
            parts.append(f"<h3>Bilan {y}</h3><ul>{''.join(items)}</ul>")
    if not parts:
        parts.append("<p>Aucune analyse produite : le magasin ne contient encore aucun bilan.</p>")
    page = ("<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
            "<title>Analyses annuelles des bilans</title><style>" + INDEX_CSS + "</style></head><body>"
            "<h1>Analyses annuelles des bilans</h1>"
            f"<p>Mis à jour le {dt.datetime.now().strftime('%d/%m/%Y à %H:%M')}.</p>"
            + "".join(parts) + "</body></html>")
    target = out / "index.html"
    _write_atomic(target, page)
    return target


INDEX_CSS = ("body{font-family:sans-serif;max-width:64em;margin:2em auto;padding:0 1em}.ko{color:#b00}"
             "ul{list-style:none;padding:0}li{display:flex;gap:1em;align-items:flex-start;margin:0 0 1em;"
             "border-bottom:1px solid #eee;padding-bottom:.8em}.vignette{flex:0 0 240px}"
             ".vignette img{max-width:240px;height:auto}.une{margin:.3em 0 0;color:#333}"
             ".vide{color:#888;font-size:.9em}")


# ---------------------------------------------------------------- benchmark

def bench_runs(db_path: str | os.PathLike, workers: int | None = None) -> dict:
    """Time `bilans run` on every combination: serial, the local process pool beside the local
    Dask cluster (same runs, same number of workers), then again with nothing changed.

    Each timing is a fresh `python -m pipelines.cli` process (what cron runs), writing into a
    temporary directory so that reports/ is left alone. Values are French text (« 12,3 s »).
    """
    db = Path(db_path).resolve()

    def timed(cwd: str, *args: str, env: dict | None = None) -> tuple[float, int]:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "--db", str(db), "run", *args],
                              cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
        return time.perf_counter() - t0, proc.returncode

    n_workers = workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as tmp:
        # « before »: the same runs without drawing the charts in SVG (spec only)
        sans_svg, rc0 = timed(tmp, "--pool", "--workers", "1", "--force", env={"BILANS_SVG": "0"})
        serial, rc1 = timed(tmp, "--pool", "--workers", "1", "--force")
        svg = _svg_sizes(Path(tmp) / OUT_DIR)
        pool, rc2 = timed(tmp, "--pool", "--workers", str(n_workers), "--force")
        cluster, rc3 = timed(tmp, "--workers", str(n_workers), "--force")
        noop, rc4 = timed(tmp, "--workers", str(n_workers))
        state = _load_state(Path(tmp) / OUT_DIR / STATE_FILE)
    n = len(state.get("runs", {}))
    return {
        "exécutions": nombre(n), "processus": nombre(n_workers),
        "série sans SVG": duree(sans_svg),
        "coût du SVG": fmt.pourcent(serial / sans_svg * 100 - 100, signe=True) if sans_svg else "—",
        "graphiques": nombre(svg["charts"]),
        "SVG par graphique": f"{nombre(svg['kb_per_chart'], 1)} Kio" if svg["kb_per_chart"] else "—",
        "série (1 processus)": duree(serial),
        f"pool de processus ({n_workers})": f"{duree(pool)} (×{nombre(serial / pool, 2)})",
        f"cluster Dask local ({n_workers})": f"{duree(cluster)} (×{nombre(serial / cluster, 2)} ; "
                                             f"{fmt.pourcent(cluster / pool * 100 - 100, signe=True)} contre la pool)",
        "par exécution (série)": duree(serial / n) if n else "—",
        "relance sans changement (objectif < 2 s)": f"{duree(noop)} ({'tenu' if noop < 2.0 else 'manqué'})",
        "codes de sortie": ", ".join(str(rc) for rc in (rc0, rc1, rc2, rc3, rc4)),
    }


def _svg_sizes(out: Path) -> dict:
    """Number of charts drawn and their mean SVG size, over every executed notebook."""
    sizes = []
    for nb_path in out.rglob("*.ipynb"):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        sizes += [len("".join(o["data"]["image/svg+xml"])) for c in nb["cells"] for o in c.get("outputs", [])
                  if "image/svg+xml" in o.get("data", {})]  # .ipynb stores text as a list of lines
    return {"charts": len(sizes), "kb_per_chart": round(sum(sizes) / len(sizes) / 1024, 1) if sizes else None}

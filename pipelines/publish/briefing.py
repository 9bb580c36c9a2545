"""Briefing des élus : chiffres clés par adhérent et par année, tableau de bord Voilà, export HTML.

Three layers, so that each can be tested without the next one:

- data: `briefing_data.BriefingData` (what both views show);
- rendering: `briefing_html` (escaped HTML strings shared by the dashboard and the
  static export `briefing_export`);
- serving: `Dashboard` (ipywidgets + Altair) for the notebook, and
  `serve_or_export` which runs Voilà on 127.0.0.1 or writes the static pages.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.errors import BilansError
from pipelines.publish import fmt
from pipelines.publish.briefing_data import (  # noqa: F401 — also the names tests and notebooks import
    BriefingData,
    ComparisonRow,
    HistoryPoint,
    KeyFigures,
    load_referentiel,
)
from pipelines.publish.briefing_html import (  # noqa: F401
    CSS,
    MEASURE_COLOURS,
    measure_label,
    render_card,
    render_cards,
    render_comparison,
    render_history,
    render_projections,
)
from pipelines.store import resolve_store

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO_ROOT / "notebooks" / "briefing_elus.ipynb"
DEFAULT_PORT = 8866


def altair_chart(points: list[HistoryPoint], comparison: list[ComparisonRow], year: int):
    """Evolution of the contribution, one series per measure (contribution totale, cotisation …),
    and comparison with the other adhérents in the chosen one's measure (Altair)."""
    import altair as alt

    # The printed name goes under the year when it differs (renamed adhérent: one series, change noted).
    names = {p.printed_name for p in points}
    hist = alt.Data(values=[{"exercice": f"{p.year} ({p.printed_name})" if len(names) > 1 else str(p.year),
                             "mesure": measure_label(m), "montant": value, "nom": p.printed_name,
                             "montant_txt": fmt.euros(value), "choisi": p.year == year}
                            for p in points for m, value in p.par_mesure.items()])
    comp = alt.Data(values=[{"adherent": r.adherent, "montant": r.contribution, "choisi": r.selected,
                             "montant_txt": fmt.euros(r.contribution), "part_txt": fmt.pourcent(r.part)}
                            for r in comparison])
    color = alt.condition("datum.choisi", alt.value("#000091"), alt.value("#a8a8d8"))
    evolution = alt.Chart(hist, title="Contribution par exercice, par mesure").mark_bar().encode(
        x=alt.X("exercice:O", title="Exercice", axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("mesure:N"),
        y=alt.Y("montant:Q", title="Montant (€)", axis=alt.Axis(format=",.0f")),
        color=alt.Color("mesure:N", title="Mesure", scale=alt.Scale(range=list(MEASURE_COLOURS))),
        opacity=alt.condition("datum.choisi", alt.value(1.0), alt.value(0.55)),
        tooltip=[alt.Tooltip("exercice:O", title="Exercice"), alt.Tooltip("mesure:N", title="Mesure"),
                 alt.Tooltip("nom:N", title="Nom imprimé"), alt.Tooltip("montant_txt:N", title="Montant")],
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


class Dashboard:
    """ipywidgets dashboard: organisme, adhérent and year dropdowns -> cards, history, chart."""

    def __init__(self, db_path: str | os.PathLike | None = None, org: str | None = None,
                 adherent: str | None = None, year: int | None = None, chart: bool = True):
        import ipywidgets as w

        self.data = BriefingData(resolve_store(db_path))
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
        self.projections = w.HTML()
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
                              self.cards, self.chart, w.HBox([self.history, self.comparison]), self.projections])
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
            self._fill_years(year)
        finally:
            self._busy = False

    def _fill_years(self, year: int | None = None) -> None:
        """The adhérent's exercices with figures; the latest unless `year` (or the current one) is among them."""
        years = self.data.exercices(self.org.value, self.adherent.value) if self.adherent.value else []
        keep = year if year in years else self.year.value
        self.year.options = [(str(y), y) for y in years]
        self.year.value = keep if keep in years else (years[-1] if years else None)

    def _on_org(self, _change) -> None:
        if not self._busy:
            self._fill()
            self.render()

    def _on_adherent(self, _change) -> None:
        if not self._busy:
            self._busy = True
            try:
                self._fill_years()
            finally:
                self._busy = False
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
        self.comparison.value = render_comparison(comp, year, self.data.mesure(org, year, adherent))
        self.projections.value = render_projections(self.data.projections(org, adherent))
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
    """Voilà hardened by `briefing_server` (kernels bounded and culled, foreign Host refused, no CDN)."""
    from pipelines.publish import briefing_server

    return [sys.executable, "-m", "pipelines.publish.briefing_server", str(notebook), "--no-browser",
            f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
            "--VoilaConfiguration.strip_sources=True", "--VoilaConfiguration.show_tracebacks=False",
            # A kernel already running the notebook when the élu opens the page.
            "--VoilaConfiguration.preheat_kernel=True", *briefing_server.arguments()]


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
    from pipelines.publish.briefing_server import TEMPLATES

    jupyter_path = os.pathsep.join(p for p in (str(TEMPLATES), os.environ.get("JUPYTER_PATH")) if p)
    env = dict(os.environ, BILANS_DB=str(Path(db_path).resolve()), JUPYTER_PATH=jupyter_path)
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
        import pandas as pd

        from pipelines.publish.briefing_export import export
        from pipelines.publish.registre import Registre
        from pipelines.validate.publications import controler

        registres: list[Registre] = []
        pages = export(db, Path(export_dir), registres)
        print(f"{fmt.pluriel(len(pages), 'page de briefing écrite', 'pages de briefing écrites')} dans {export_dir} (sommaire : "
              f"{Path(export_dir) / 'index.html'})")
        figures = pd.concat([r.frame() for r in registres], ignore_index=True) if registres else None
        erreurs = controler(db, figures if figures is not None else Registre("briefing/").frame(), "briefing/")
        return 1 if erreurs else 0
    check_port(port)
    BriefingData(db)  # fail fast, in one line, on an unreadable store
    return serve(db, port)

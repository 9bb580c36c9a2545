"""Data Docs lisibles hors ligne : aucune ressource chargée depuis Internet.

GE's templates load Bootstrap, jQuery and fonts from CDNs and draw the index with JavaScript;
offline that is unstyled text and an empty index. We drop every external link and script,
inline a small stylesheet shipped with the package, and write a static French index.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

CSS = Path(__file__).with_name("data_docs.css")
_EXTERNAL = r"""(?:https?:)?//[^"']*"""
_LINK = re.compile(rf"""<link\b[^>]*\bhref=["']{_EXTERNAL}["'][^>]*>""", re.IGNORECASE)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)  # all of them need jQuery
_IMG = re.compile(rf"""<img\b[^>]*\bsrc=["']{_EXTERNAL}["'][^>]*>""", re.IGNORECASE)
_ATTR = re.compile(rf"""\s(?:href|src)=["']{_EXTERNAL}["']""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*["']?(?:https?:)?//[^)]*\)""", re.IGNORECASE)  # GE's logo on S3


def offline_html(text: str, css: str) -> str:
    """The page without external resources, with the stylesheet inlined."""
    for pattern in (_LINK, _SCRIPT, _IMG, _ATTR):
        text = pattern.sub("", text)
    text = _CSS_URL.sub("none", text)
    style = f"<style>\n{css}</style>"
    return text.replace("</head>", style + "\n</head>", 1) if "</head>" in text else style + text


def make_offline(out: Path, suites: list[dict]) -> None:
    """Rewrite every page of the site `out`, and its index (suites: name, description, success,
    unexpected, checked)."""
    css = CSS.read_text(encoding="utf-8")
    for page in out.rglob("*.html"):
        page.write_text(offline_html(page.read_text(encoding="utf-8"), css), encoding="utf-8")
    (out / "index.html").write_text(_index(out, suites, css), encoding="utf-8")


def _index(out: Path, suites: list[dict], css: str) -> str:
    rows = []
    for s in suites:
        name = s["name"]
        pages = sorted((out / "validations" / name).rglob("*.html"))
        result = (f'<a href="{html.escape(pages[-1].relative_to(out).as_posix())}">résultats</a>'
                  if pages else "—")
        state = ('<span class="ok">conforme</span>' if s["success"] else
                 f'<span class="ko">{s["unexpected"]} constat(s)</span>')
        rows.append(f'<tr><td><a href="expectations/{html.escape(name)}.html">{html.escape(name)}</a></td>'
                    f'<td>{html.escape(s["description"])}</td><td>{s["checked"]}</td><td>{state}</td>'
                    f"<td>{result}</td></tr>")
    return ("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Data Docs — bilans</title>"
            f"<style>\n{css}</style></head><body><div class=\"container\"><h1>Contrôles des bilans — Data Docs</h1>"
            "<p>Une suite par famille de règles (<code>expectations/*.json</code>) ; chaque suite donne ses règles "
            "et leurs paramètres, chaque résultat les constats avec le document, le tableau, la ligne, le chiffre "
            "trouvé et le chiffre attendu.</p><table><thead><tr><th>Suite</th><th>Règles</th>"
            "<th>Contrôles</th><th>Résultat</th><th>Détail</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></body></html>\n")

"""What every generated page must satisfy: charts drawn in the page, nothing loaded from elsewhere."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

EXTERNAL = re.compile(r"""<script[^>]*\bsrc=|<link[^>]*\bhref=["']?(?:https?:)?//|@import|"""
                      r"""\b(?:src|href)=["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//""", re.IGNORECASE)
INLINE_CHART = re.compile(r'<img[^>]*src="data:image/svg\+xml;base64,([^"]+)"|(<svg\b.*?</svg>)', re.DOTALL)


def external_references(page: str) -> list[str]:
    """Scripts, styles, fonts or images the page would fetch (XML namespaces are not fetched)."""
    return [m.group(0) for m in EXTERNAL.finditer(page)]


def inline_charts(page: str) -> list[str]:
    """The SVG documents drawn in the page: inline <svg> or <img> of an SVG data URI."""
    out = []
    for m in INLINE_CHART.finditer(page):
        out.append(base64.b64decode(m.group(1)).decode("utf-8") if m.group(1) else m.group(2))
    return out


# --- injection scan -------------------------------------------------------------------------------

PAYLOAD_MARK = "alert("  # every test payload calls it; no page of ours does
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}


class _LiveMarkup(HTMLParser):
    """Collects markup a browser would run: on* handlers, script bodies and javascript: URLs
    carrying a payload, and elements a payload creates (`<img src=x>`, `<svg onload>`)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            url = re.sub(r"[\x00-\x20]", "", value).lower()
            if name.startswith("on") and PAYLOAD_MARK in value:
                self.live.append(f"<{tag} {name}={value!r}>")
            elif name in _URL_ATTRIBUTES and url.startswith(("javascript:", "vbscript:")):
                self.live.append(f"<{tag} {name}={value!r}>")
        self._in_script = tag == "script"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and PAYLOAD_MARK in data:
            self.live.append(f"<script>{data[:60]}")


def live_payloads(page: str) -> list[str]:
    """What of a test payload would run if the page were opened: [] when all of it is text."""
    parser = _LiveMarkup()
    parser.feed(page)
    parser.close()
    return parser.live


def live_markdown(text: str) -> list[str]:
    """Payloads a Markdown renderer would turn into markup: raw HTML tags, links or images
    whose target is a script URL (inline or autolink)."""
    tags = re.findall(r"<(?:script|img|svg|iframe|a)\b[^>]*>?", text, re.IGNORECASE)
    links = re.findall(r"(?<!\\)\]\(\s*(?:javascript|vbscript):[^)]*\)|<(?:javascript|vbscript):[^>]*>",
                       text, re.IGNORECASE)
    return tags + links


_TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_controls(text: str) -> list[str]:
    """Control characters (ANSI/OSC escapes begin with one) that would reach a terminal."""
    return [repr(c) for c in _TERMINAL_CONTROLS.findall(text)]

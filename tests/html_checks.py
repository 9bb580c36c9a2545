"""What every generated page must satisfy: charts drawn in the page, nothing loaded from elsewhere."""

from __future__ import annotations

import base64
import re

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

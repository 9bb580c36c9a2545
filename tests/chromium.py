"""Debian's Chromium for the browser tests: path, launch flags (no network chatter, no download),
and the marks that skip a test with its reason when the browser is absent."""

import shutil

import pytest

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium absent (installé par « make browser » : "
                                               "apt-get install chromium chromium-driver)"),
]

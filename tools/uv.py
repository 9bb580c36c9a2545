"""uv avec la configuration d'index de pip : `python tools/uv.py pip sync requirements.txt`.

uv reads neither pip.conf nor the PIP_* variables. A machine whose pip is set up with mirrors,
find-links or a CA bundle (CI, a network without PyPI) would see `make run` install
from elsewhere than `pip install` does, or fail. This wrapper reads pip's own configuration
(`pip config list`: files then environment, the later one winning) and hands it to uv through
uv's variables, then runs the uv beside this interpreter. A variable already set is left alone.

pip's `constraint` files are not handed over: the lock is exact already (and uv refuses an
unpinned constraint under --require-hashes), and a lock must not depend on one machine's caps.

pip merges all its indexes and takes the best version; uv stops at the first index that knows a
package unless told otherwise, hence UV_INDEX_STRATEGY=unsafe-best-match (the lock's hashes still
pin every file, so a package from the "wrong" index would be refused).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

# pip option -> (uv variable, separator uv expects between values)
_OPTIONS = {
    "index-url": ("UV_DEFAULT_INDEX", " "),
    "extra-index-url": ("UV_INDEX", " "),
    "find-links": ("UV_FIND_LINKS", ","),
    "cert": ("SSL_CERT_FILE", " "),
    "trusted-host": ("UV_INSECURE_HOST", " "),
    "timeout": ("UV_HTTP_TIMEOUT", " "),
    "default-timeout": ("UV_HTTP_TIMEOUT", " "),
    "no-index": ("UV_NO_INDEX", " "),
}


def pip_settings(python: str = sys.executable) -> dict[str, str]:
    """pip's effective options (name -> value) as `pip config list` prints them, last one wins."""
    proc = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True)
    settings: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, raw = line.partition("=")
        if not sep:
            continue
        section, _, name = key.rpartition(".")
        if section not in ("global", "install", ":env:"):
            continue
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw.strip("'\"")
        settings[name] = str(value)
    return settings


def uv_environment(settings: dict[str, str], environ: dict[str, str]) -> dict[str, str]:
    """`environ` plus the uv variables for pip's `settings` (variables already set are kept)."""
    env = dict(environ)
    for name, value in settings.items():
        if name not in _OPTIONS:
            continue
        variable, separator = _OPTIONS[name]
        if name == "no-index":
            value = "1" if value.lower() in ("1", "true", "yes", "on") else ""
        else:
            value = separator.join(value.split())
        if value:
            env.setdefault(variable, value)
    env.setdefault("UV_INDEX_STRATEGY", "unsafe-best-match")
    return env


def main(argv: list[str]) -> int:
    beside = Path(sys.executable).with_name("uv")
    uv = str(beside) if beside.exists() else shutil.which("uv")
    if uv is None:
        print("uv introuvable : « python -m pip install -r requirements-uv.txt » l'installe", file=sys.stderr)
        return 2
    env = uv_environment(pip_settings(), dict(os.environ))
    return subprocess.run([uv, *argv], env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

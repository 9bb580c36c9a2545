"""tools/uv.py: uv gets the index settings of this machine's pip (mirrors, find-links, CA), so that
`make run` installs the lock from where `pip install` would."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("uv_wrapper", ROOT / "tools" / "uv.py")
uv_wrapper = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(uv_wrapper)


def test_pip_configuration_becomes_uv_variables(tmp_path, monkeypatch):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://miroir.example/simple\n"
                    "extra-index-url = file:///opt/a/simple file:///opt/b/simple\ntimeout = 60\n"
                    "[install]\ntrusted-host = miroir.example\n", encoding="utf-8")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))  # read after the machine's files: it wins
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/roues /opt/autres")  # the environment wins over files
    settings = uv_wrapper.pip_settings(sys.executable)
    assert settings["index-url"] == "https://miroir.example/simple"
    assert settings["find-links"] == "/opt/roues /opt/autres"

    env = uv_wrapper.uv_environment(settings, {"UV_HTTP_TIMEOUT": "5"})
    assert env["UV_DEFAULT_INDEX"] == "https://miroir.example/simple"
    assert env["UV_INDEX"] == "file:///opt/a/simple file:///opt/b/simple"
    assert env["UV_FIND_LINKS"] == "/opt/roues,/opt/autres"  # uv separates them with commas
    assert env["UV_INSECURE_HOST"] == "miroir.example"
    assert env["UV_HTTP_TIMEOUT"] == "5"  # a variable the user set is kept
    assert env["UV_INDEX_STRATEGY"] == "unsafe-best-match"  # pip's « best version of every index »


def test_no_index_and_unknown_options():
    env = uv_wrapper.uv_environment({"no-index": "true", "progress-bar": "off"}, {})
    assert env == {"UV_NO_INDEX": "1", "UV_INDEX_STRATEGY": "unsafe-best-match"}
    assert "UV_NO_INDEX" not in uv_wrapper.uv_environment({"no-index": "false"}, {})

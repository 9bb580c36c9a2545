import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_fixture import build_fixture_store  # noqa: E402


@pytest.fixture
def fixture_store(tmp_path: Path) -> Path:
    return build_fixture_store(tmp_path / "bilans.duckdb")


@pytest.fixture
def empty_store(tmp_path: Path) -> Path:
    return build_fixture_store(tmp_path / "empty.duckdb", empty=True)


@pytest.fixture(scope="session")
def seeds_db(tmp_path_factory) -> Path:
    """The store of the seed reports (data/raw/), built once per test session."""
    from pipelines.build import build

    db = tmp_path_factory.mktemp("seeds_store") / "bilans.duckdb"
    build(ROOT / "data" / "raw", db, validate=False)
    return db

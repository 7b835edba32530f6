import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def signatures_dir() -> Path | None:
    """The shared real-world command lines (beside the checkout), if this machine has them."""
    env = os.environ.get("BOO_SIGNATURES_DIR")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "signatures", REPO / "shared" / "signatures"]:
        if (cand / "boo_sample_commands.txt").exists():
            return cand
    return None


def signature_files() -> list[Path]:
    d = signatures_dir()
    if d is None:
        return []
    return [d / "boo_sample_commands.txt"] + sorted((d / "miopen_perf_models").glob("*.txt"))


@pytest.fixture(scope="session", autouse=True)
def _hermetic_cache(tmp_path_factory):
    """Every test session compiles into its own cache, never the user's."""
    path = tmp_path_factory.mktemp("boo-cache")
    old = os.environ.get("BOO_CACHE_DIR")
    os.environ["BOO_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("BOO_CACHE_DIR", None)
    else:
        os.environ["BOO_CACHE_DIR"] = old


@pytest.fixture
def shared_signature_files():
    files = signature_files()
    if not files:
        pytest.skip("../shared/signatures is not on this machine (set BOO_SIGNATURES_DIR)")
    return files


# Native-program fixtures (cmake build of the reference lib, shim and test programs; a boo daemon).
from native_harness import boo_daemon, native_tree  # noqa: E402,F401

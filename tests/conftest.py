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


# Every test file in one group, by what it needs; `./scripts/test.sh -m unit` runs the fast ones
# in seconds. A new file must be placed here (collection fails otherwise), so the groups stay whole.
TEST_GROUPS = {
    "unit": ["test_signature", "test_grammar", "test_protocol", "test_fuzz_protocol", "test_config", "test_dtypes",
             "test_ir_golden"],
    "compile": ["test_lowering", "test_compile_cache", "test_compile_fallback", "test_generate", "test_runtime",
                "test_driver", "test_precompile", "test_report", "test_gpu_prep"],
    "daemon": ["test_daemon", "test_daemon_hardening", "test_call_path", "test_call_channel"],
    "native": ["test_shim", "test_torch_client", "test_mixed_program", "test_reference_lib", "test_fast_path"],
    "pytorch": ["test_pytorch_ops", "test_torchvision_models"],
}
_GROUP_OF = {module: group for group, modules in TEST_GROUPS.items() for module in modules}


def pytest_collection_modifyitems(config, items):
    missing = set()
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        group = _GROUP_OF.get(module)
        if group is None:
            missing.add(module)
        else:
            item.add_marker(getattr(pytest.mark, group))
    if missing:
        raise pytest.UsageError(f"tests/conftest.py TEST_GROUPS does not place {sorted(missing)}; add each to "
                                "the group whose needs it shares")


# Native-program fixtures (cmake build of the reference lib, shim and test programs; a boo daemon).
from native_harness import boo_daemon, native_tree  # noqa: E402,F401

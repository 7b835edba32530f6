"""Build `libboo_miopen_shim.so`: cffi embedding of `native/include/miopen/miopen.h`.

    python -m boo_shim.shim.build [--out DIR] [--header PATH] [--quiet]

Every function of the header's `BOO_CDEF_BEGIN`..`BOO_CDEF_END` region is exported with
MIOpen's exact prototype (`ffi.embedding_api`); `impl.py` implements them in Python. The C
prelude (`set_source`) adds what must exist before Python runs:

- the venv the shim is built for (its python executable and site-packages) is baked in, and
  the first call initialises the embedded interpreter from that venv with `PyConfig`, so a
  host started with a bare environment (`env -i PATH=/usr/bin:/bin ./app`) still gets it;
- an initialisation failure is reported once on stderr and every entry point then returns
  `miopenStatusNotInitialized` (cffi alone would return 0 = success);
- `boo_native_sym(name)`: `dlsym(RTLD_NEXT, name)` (or from `BOO_NATIVE_LIB`), the real
  MIOpen behind the shim, for the native fallback;
- `native/shim/fast_call.c`: the six convolution entry points (`FAST_ENTRIES`) are C, and
  serve a call the shim has served before straight from C (one binary frame to the daemon);
  on a miss they call their Python implementation, exported to C as `boo_py_<name>`.

libpython is linked with an rpath, so hosts that are not Python find it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import site
import sys
import sysconfig
import tempfile
from pathlib import Path

MODULE_NAME = "_boo_miopen_shim"
LIB_NAME = "libboo_miopen_shim.so"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HEADER = REPO_ROOT / "native" / "include" / "miopen" / "miopen.h"
FAST_CALL_SOURCE = REPO_ROOT / "native" / "shim" / "fast_call.c"
# Entry points whose C definition (fast_call.c) runs first; Python implements `boo_py_<name>`.
FAST_ENTRIES = ("miopenConvolutionForward", "miopenConvolutionBackwardData", "miopenConvolutionBackwardWeights",
                "miopenConvolutionForwardImmediate", "miopenConvolutionBackwardDataImmediate",
                "miopenConvolutionBackwardWeightsImmediate")
PYTHON_PREFIX = "boo_py_"

INIT_CODE = r'''
import sys
from _boo_miopen_shim import ffi, lib
for _p in reversed(ffi.string(lib.boo_site_dirs()).decode().split(":")):
    if _p and _p not in sys.path:
        sys.path.insert(0, _p)
try:
    from boo_shim.shim import impl as _impl
    _impl.install(ffi, lib)
except BaseException as _e:  # never let the init code fail: cffi would return 0 (success)
    import traceback
    lib.boo_report_init_failure(("boo-shim: initialisation failed, every MIOpen call returns "
                                 "miopenStatusNotInitialized:\n" + traceback.format_exc()).encode())
    _names = ffi.string(lib.boo_python_names()).decode().split()
    def _make(name):
        if name == "miopenGetErrorString":
            return lambda status: lib.boo_c_error_string(status)
        return lambda *args: 1
    for _n in _names:
        ffi.def_extern(name=_n)(_make(_n))
'''

PRELUDE = r'''
#include "miopen/miopen.h" /* the exported wrappers below must match these prototypes */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RTLD_NEXT
#define RTLD_NEXT ((void *)-1l)
#endif

static const char boo_venv_python[] = @VENV_PYTHON@;
const char *boo_site_dirs(void) { return @SITE_DIRS@; }
const char *boo_exported_names(void) { return @NAMES@; }
const char *boo_python_names(void) { return @PYTHON_NAMES@; }

static int boo_init_failed = 0;
static pthread_once_t boo_py_once = PTHREAD_ONCE_INIT;
static pthread_once_t boo_report_once = PTHREAD_ONCE_INIT;
static const char *boo_init_message = NULL;

static void boo_print_report(void)
{
    fprintf(stderr, "%s\n", boo_init_message ? boo_init_message : "boo-shim: initialisation failed");
    fflush(stderr);
}

void boo_report_init_failure(const char *message)
{
    boo_init_message = strdup(message);
    pthread_once(&boo_report_once, boo_print_report);
}

const char *boo_c_error_string(int error)
{
    switch(error)
    {
    case 0: return "miopenStatusSuccess";
    case 1: return "miopenStatusNotInitialized";
    case 2: return "miopenStatusInvalidValue";
    case 3: return "miopenStatusBadParm";
    case 4: return "miopenStatusAllocFailed";
    case 5: return "miopenStatusInternalError";
    case 6: return "miopenStatusNotImplemented";
    case 7: return "miopenStatusUnknownError";
    case 8: return "miopenStatusUnsupportedOp";
    case 9: return "miopenStatusGpuOperationsSkipped";
    case 10: return "miopenStatusVersionMismatch";
    default: return "Unknown miopenStatus_t value";
    }
}

/* The real MIOpen behind the shim: BOO_NATIVE_LIB if set, else the next object in the
 * lookup order (LD_PRELOAD shim in front of libMIOpen.so.1). */
void *boo_native_sym(const char *name)
{
    static void *lib = NULL;
    static int tried = 0;
    if(!tried)
    {
        const char *path = getenv("BOO_NATIVE_LIB");
        if(path && *path)
            lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        tried = 1;
    }
    if(lib)
        return dlsym(lib, name);
    void *sym = dlsym(RTLD_NEXT, name);
    if(sym == NULL)
    {
        /* A libMIOpen that came in with a dlopen'ed library (PyTorch's ROCm build loads it
         * through libtorch_hip, RTLD_LOCAL) is not in the global lookup order RTLD_NEXT walks;
         * find it among the loaded objects by name, without loading anything new. */
        static const char *const names[] = {"libMIOpen.so.1", "libMIOpen.so"};
        for(size_t i = 0; i < sizeof(names) / sizeof(names[0]) && sym == NULL; ++i)
        {
            void *loaded = dlopen(names[i], RTLD_NOW | RTLD_NOLOAD);
            if(loaded != NULL)
            {
                sym = dlsym(loaded, name);
                dlclose(loaded); /* NOLOAD took a reference; the library stays loaded */
            }
        }
    }
    return sym;
}

/* Initialise the interpreter from the baked venv (when the host has not done so itself). */
static void boo_init_python(void)
{
    if(Py_IsInitialized())
        return;
    PyStatus status;
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    config.user_site_directory = 0;
    config.use_environment = getenv("BOO_PYTHON_USE_ENV") != NULL;
    status = PyConfig_SetBytesString(&config, &config.program_name, boo_venv_python);
    if(!PyStatus_Exception(status))
        status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if(PyStatus_Exception(status))
    {
        char buf[1024];
        snprintf(buf, sizeof(buf),
                 "boo-shim: cannot start the embedded Python of %s (%s%s%s); every MIOpen call "
                 "returns miopenStatusNotInitialized",
                 boo_venv_python, status.func ? status.func : "", status.func ? ": " : "",
                 status.err_msg ? status.err_msg : "unknown error");
        boo_init_failed = 1;
        boo_report_init_failure(buf);
        return;
    }
    PyEval_SaveThread(); /* cffi expects the GIL to be free */
}

static void boo_start_and_call_python(struct _cffi_externpy_s *externpy, char *args)
{
    pthread_once(&boo_py_once, boo_init_python);
    if(!boo_init_failed)
    {
        /* cffi's own start-up (imports _cffi_backend, runs the init code); on success it
         * also switches every later call to the fast path. */
        _cffi_call_python_fnptr fn = _cffi_start_python();
        if(fn != NULL)
        {
            fn(externpy, args);
            return;
        }
    }
    if(!boo_init_failed)
    {
        boo_init_failed = 1;
        boo_report_init_failure("boo-shim: the cffi embedding failed to initialise (see above); "
                                "every MIOpen call returns miopenStatusNotInitialized");
    }
    if(strcmp(externpy->name, "miopenGetErrorString") == 0)
    {
        int st = *(int *)args;
        *(const char **)args = boo_c_error_string(st);
    }
    else
    {
        memset(args, 0, externpy->size_of_result);
        *(int *)args = 1; /* miopenStatusNotInitialized */
    }
}

__attribute__((constructor)) static void boo_install_start_hook(void)
{
    /* Only a pointer store: the interpreter starts at the first MIOpen call. */
    if(_cffi_call_python == &_cffi_start_and_call_python)
        _cffi_call_python = &boo_start_and_call_python;
}
'''

EXTRA_CDEF = """
const char *boo_site_dirs(void);
const char *boo_exported_names(void);
const char *boo_python_names(void);
int boo_fast_configure(int enabled, const char *channel_path, long timeout_ms, long spin_us);
void boo_fast_note(uintptr_t ptr, uint64_t content_id);
void boo_fast_note_handle(uintptr_t ptr, int alive);
int boo_fast_last_ms(uintptr_t handle, double *ms);
void boo_fast_add(int direction, uint64_t x, uint64_t w, uint64_t conv, uint64_t y, uint64_t plan_id,
                  size_t in0, size_t in1, size_t out);
uint64_t boo_fast_count(void);
uint64_t boo_fast_descriptor_content(uintptr_t ptr);
void *boo_native_sym(const char *name);
const char *boo_c_error_string(int error);
void boo_report_init_failure(const char *message);
"""


def cdef_region(header: Path = DEFAULT_HEADER) -> str:
    text = Path(header).read_text()
    m = re.search(r"/\* BOO_CDEF_BEGIN \*/(.*)/\* BOO_CDEF_END \*/", text, re.S)
    if not m:
        raise SystemExit(f"{header}: no BOO_CDEF_BEGIN/BOO_CDEF_END region")
    return m.group(1)


def split_fast_entries(cdef: str) -> tuple[str, str]:
    """(the cdef without the FAST_ENTRIES prototypes, their `extern "Python+C"` declarations
    renamed boo_py_<name>): the exported symbol is fast_call.c's, the Python one is behind it."""
    python_side = []
    for name in FAST_ENTRIES:
        m = re.search(r"miopenStatus_t\s+" + name + r"\s*\((.*?)\);", cdef, re.S)
        if not m:
            raise SystemExit(f"the header declares no {name}")
        cdef = cdef[:m.start()] + cdef[m.end():]
        python_side.append(f'extern "Python+C" miopenStatus_t {PYTHON_PREFIX}{name}({m.group(1)});')
    return cdef, "\n".join(python_side)


def function_names(cdef: str) -> list[str]:
    """Names of the functions declared in a cdef region (what the shim must export)."""
    body = re.sub(r"/\*.*?\*/", "", cdef, flags=re.S)
    return re.findall(r"\b(miopen\w+)\s*\(", body)


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def venv_paths() -> tuple[str, list[str]]:
    """(python executable of this environment, its site-packages dirs)."""
    exe = Path(sys.prefix) / "bin" / "python"
    if not exe.exists():
        exe = Path(sys.executable)
    dirs = [p for p in site.getsitepackages() if os.path.isdir(p)]
    return str(exe), dirs


def make_ffi(header: Path = DEFAULT_HEADER):
    import cffi

    cdef = cdef_region(header)
    names = function_names(cdef)
    python_names = [PYTHON_PREFIX + n if n in FAST_ENTRIES else n for n in names]
    exported_by_python, fast_python_side = split_fast_entries(cdef)
    exe, site_dirs = venv_paths()
    ffi = cffi.FFI()
    ffi.embedding_api(exported_by_python)
    ffi.cdef(fast_python_side)
    ffi.cdef(EXTRA_CDEF)
    ffi.embedding_init_code(INIT_CODE)
    prelude = (PRELUDE.replace("@VENV_PYTHON@", _c_string(exe))
               .replace("@SITE_DIRS@", _c_string(":".join(site_dirs)))
               .replace("@NAMES@", _c_string(" ".join(names)))
               .replace("@PYTHON_NAMES@", _c_string(" ".join(python_names))))
    # fast_call.c calls the Python side, which cffi defines after this source: declare it
    forward = "\n".join(re.sub(r'^extern "Python\+C" ', "", line) for line in fast_python_side.splitlines())
    prelude += "\n" + forward + "\n#include <time.h>\n" + FAST_CALL_SOURCE.read_text()
    libdir = sysconfig.get_config_var("LIBDIR")
    ffi.set_source(
        MODULE_NAME,
        prelude,
        include_dirs=[str(Path(header).parent.parent)],
        library_dirs=[libdir],
        extra_compile_args=["-O2", "-Wno-unused-function"],
        extra_link_args=[f"-Wl,-rpath,{libdir}", "-ldl", "-lpthread"],
    )
    return ffi, names


def build(out_dir: str | os.PathLike, header: Path = DEFAULT_HEADER, verbose: bool = False) -> Path:
    """Compile the shim into `out_dir/libboo_miopen_shim.so` (atomic replace); return its path."""
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    ffi, _ = make_ffi(Path(header))
    with tempfile.TemporaryDirectory(prefix="boo-shim-build-", dir=out_dir) as tmp:
        built = ffi.compile(tmpdir=tmp, target=LIB_NAME, verbose=verbose)
        tmp_target = out_dir / f".{LIB_NAME}.{os.getpid()}"
        shutil.copy2(built, tmp_target)
        os.replace(tmp_target, out_dir / LIB_NAME)
    return out_dir / LIB_NAME


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m boo_shim.shim.build", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="output directory (default: the per-venv location)")
    ap.add_argument("--header", default=str(DEFAULT_HEADER))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    from . import default_build_dir

    path = build(args.out or default_build_dir(), Path(args.header), verbose=args.verbose)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Build the Cython core with -O0 -g3 and AddressSanitizer into a fresh virtual environment,
# then run the whole test suite against it.  Usage (see tools/README.md, "Memory safety"):
#
#   tools/asan.sh [VENV] [-- PYTEST-ARGS...]
#
# VENV defaults to /tmp/fastctx-asan; PYTEST-ARGS to `-q -p no:cacheprovider tests`.
#
# Environment: PYTHON (the interpreter to build the venv from; default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

venv=/tmp/fastctx-asan
if [[ $# -gt 0 && $1 != -- ]]; then venv=$1; shift; fi
[[ ${1:-} == -- ]] && shift
pytest_args=("$@")
[[ ${#pytest_args[@]} -eq 0 ]] && pytest_args=(-q -p no:cacheprovider tests)

log() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }

libasan=$(gcc -print-file-name=libasan.so)
if [[ $libasan != /* || ! -e $libasan ]]; then
    echo "asan.sh: gcc does not know libasan.so (install libasan / gcc's sanitizer runtime)" >&2
    exit 2
fi

log "fresh virtual environment in $venv"
"${PYTHON:-python3}" -m venv --clear "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip

# Build and test a copy of the tree, kept in $venv/src: cythonize writes _core.c next to
# _core.pyx and setuptools a build/ directory, and the debug build's objects must not end up
# in the working tree, where a later ordinary build would reuse them. Testing the same copy keeps tests and extension in step while the tree changes.
src=$venv/src
mkdir -p "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$root" ls-files -z --cached --others --exclude-standard \
        | (cd "$root" && xargs -0 cp --parents -t "$src" 2>/dev/null || true)
else
    cp -r "$root/." "$src"
    rm -rf "$src/build" "$src"/src/fastctx/_core.c "$src"/src/fastctx/_stores.c "$src"/src/fastctx/*.so
fi

log "build: FASTCTX_DEBUG_BUILD=1 FASTCTX_ASAN=1 (-O0 -g3 -fsanitize=address)"
# CIBUILDWHEEL=1: a failed compile is an error here, never a silent pure-Python install.
FASTCTX_DEBUG_BUILD=1 FASTCTX_ASAN=1 CIBUILDWHEEL=1 \
    "$venv/bin/python" -m pip install -q --no-cache-dir "${src}[test]"

so=$(cd / && LD_PRELOAD=$libasan ASAN_OPTIONS=detect_leaks=0 "$venv/bin/python" -c \
     'import fastctx._core as c; print(c.__file__)')
echo "extension: $so"
libs=$(ldd "$so")  # not `ldd | grep -q`: with pipefail, grep's early exit fails the pipe
if ! grep libasan <<<"$libs"; then
    echo "asan.sh: $so is not linked with libasan" >&2
    exit 1
fi

log "test suite under AddressSanitizer"
# LD_PRELOAD: the interpreter itself is not instrumented, so the ASan runtime must be loaded
#   before anything else.
# PYTHONMALLOC=malloc: every object comes from malloc, so ASan sees each allocation and free
#   (pymalloc's arenas would hide use-after-free and overflows inside them).
# detect_leaks=0: CPython keeps interned strings, type caches and module state until exit;
#   LeakSanitizer reports thousands of such "leaks", which drown any real one. Reference
#   leaks are what tests/test_leaks.py measures instead.
# allocator_may_return_null=1: an allocation too large for ASan's allocator fails as malloc
#   does (MemoryError), instead of aborting the process: the limit tests provoke exactly that.
cd "$src"
export LD_PRELOAD=$libasan
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export PYTHONMALLOC=malloc
export PYTHONDONTWRITEBYTECODE=1
"$venv/bin/python" -c 'import fastctx, sys; print("implementation:", fastctx.IMPLEMENTATION); sys.exit(fastctx.IMPLEMENTATION != "cython")'
"$venv/bin/python" -m pytest "${pytest_args[@]}"
log "done: no AddressSanitizer report, suite passed"

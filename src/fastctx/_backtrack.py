"""How many steps Python's backtracking ``re`` can take, at most, to match a pattern.

``fastctx._regex`` refuses, without RE2, what makes ``re`` exponential (a quantifier over a
repetition or an alternation). What is left can still be polynomial: ``a*a*a*b`` tries every
way of splitting a run of ``a`` between three quantifiers (n³ for n characters), ``\\s+$`` is
quadratic under ``search`` (n starts, each scanning the run), and a chain of alternations
(``(?:ab|a)(?:b|)`` thirty times) doubles with each link. :class:`Backtracking` bounds
that cost from the parsed pattern and the subject, before anything is matched, so that the
match can be charged to ``max_work`` (or refused) first.

The bound. Backtracking is a depth-first search over the choices the pattern offers: how many
iterations each quantifier takes, which branch each alternation takes. Read from the end of
the pattern, the work left after each point is split in what the ways that fail cost and what
the one way that reaches the end costs (taken once per start: the first success ends the try):

- a character (literal, class, ``.``) or an anchor: one step more;
- an alternation: its branches' costs added (each is tried), or, when no two branches can
  start with the same character of the subject, the largest one plus a quick failure for
  each other branch;
- a quantifier taking ``lo`` to ``hi`` iterations of a body of fixed length (the exponential
  check guarantees one way to match each iteration): ``c = min(hi, n / shortest body,
  longest run in the subject of a one-class body) - lo + 1`` counts to try, ``(lo + c) x
  body`` steps to scan them and a quick failure for each, and the failing rest retried after
  each of the ``c`` counts, or after one of them when the body cannot start with a character
  of the subject that can start the rest (every other count leaves a body character where
  the rest needs something else, and fails at once: ``\\d+$``, ``\\w+@``), or when the rest
  cannot fail (``.*`` to the end). A possessive quantifier keeps one count.

``search``, ``sub``, ``findall`` and ``finditer`` try at most n + 1 starting positions (one,
when the pattern starts with ``^`` or ``\\A``). Character classes are compared on the
subject's characters when it holds at most 256 distinct ones; otherwise over Latin-1, a few
representatives of the Unicode categories and every character a class names (a wide range
above Latin-1 is taken to overlap), and under ``(?a)`` or ``(?L)`` always taken to overlap:
where unsure, the bound only grows.
"""

from __future__ import annotations

from typing import Any, NamedTuple

try:
    from re import _compiler as _sre_compile  # type: ignore[attr-defined]
    from re import _constants as _sre  # type: ignore[attr-defined]
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # Python 3.10
    import sre_compile as _sre_compile
    import sre_constants as _sre
    import sre_parse as _sre_parse

__all__ = ["Backtracking"]

_ACCEPT = ("accept",)  # the end of the pattern: the first way to reach it is the match
_NULL = ("null",)  # in a first set: the item can match nothing, and what follows starts
_CHARS = {_sre.LITERAL, _sre.NOT_LITERAL, _sre.IN, _sre.ANY}
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT}
_POSSESSIVE = getattr(_sre, "POSSESSIVE_REPEAT", None)
_ATOMIC = getattr(_sre, "ATOMIC_GROUP", None)
_ENDS = {_sre.AT_END, _sre.AT_END_LINE}
_STARTS = {_sre.AT_BEGINNING_STRING}
_CATEGORIES: dict[Any, Any] = {
    _sre.CATEGORY_DIGIT: str.isdecimal, _sre.CATEGORY_SPACE: str.isspace,
    _sre.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
    _sre.CATEGORY_LINEBREAK: lambda ch: ch == "\n"}
for _name, _test in list(_CATEGORIES.items()):
    _CATEGORIES[getattr(_sre, str(_name).replace("CATEGORY_", "CATEGORY_NOT_"))] = (
        lambda ch, test=_test: not test(ch))
#: Characters compared besides Latin-1 and those a class names: other scripts' digits,
#: spaces and letters, line and paragraph separators, case-folding oddities, an emoji.
_OTHERS = "\u0660\u06f0\u0966\u1680\u2003\u2028\u2029\u202f\u3000\u0391\u0400\u05d0" \
          "\u4e00\uac00\u212a\u2126\u1e9e\U0001f600\U0001d7ce"
_UNIVERSE = frozenset(map(chr, range(0x300))) | frozenset(_OTHERS)
_WIDE = 256  # a range above Latin-1 wider than this is not enumerated
_FEW = 256  # a subject of at most this many distinct characters: classes compared on them


class _Tail(NamedTuple):
    """What is left of the pattern after a point: ``fail``, the steps of the ways through it
    that fail; ``success``, those of the one way that reaches the end (taken at most once per
    start); ``follow``, what it can start with; ``sure``, whether it cannot fail (quantifiers
    that may match nothing, to the end); ``head``, the items it may skip before its first
    character (what a try that fails at once costs)."""

    fail: int
    success: int
    follow: set[Any]
    sure: bool
    head: int


class _Subject(NamedTuple):
    length: int
    runs: dict[Any, int]
    chars: set[str] | None  # the characters of the subject, when there are few


class Backtracking:
    """The worst case of one pattern (from ``sre_parse.parse``, checked by
    ``fastctx._regex``): :meth:`steps` for a subject length."""

    def __init__(self, parsed: Any) -> None:
        self.items = list(parsed)
        self.flags = parsed.state.flags

        self.meets: dict[tuple[Any, Any], bool] = {}
        #: For each quantifier over one character class: a pattern finding the runs of that
        #: class, whose longest bounds the quantifier's iterations in a given subject.
        self.runs: dict[Any, Any] = {}
        stack = [parsed]
        while stack:  # the flags any group sets, and the quantifiers over one class
            for op, argument in stack.pop():
                if op is _sre.SUBPATTERN:
                    self.flags |= argument[1]
                    stack.append(argument[-1])
                elif op in _REPEATS or op is _POSSESSIVE:
                    stack.append(argument[2])
                    body = list(argument[2])
                    if argument[1] > 1 and len(body) == 1 and body[0][0] in _CHARS:
                        self.runs[_frozen(body[0])] = _sre_parse.SubPattern(parsed.state, [(
                            _sre.MAX_REPEAT, (1, _sre.MAXREPEAT, argument[2]))])
                elif op is _sre.BRANCH:
                    stack.extend(argument[1])
                elif op is _ATOMIC:
                    stack.append(argument)
        if self.flags != parsed.state.flags:  # a group with flags of its own: runs not used
            self.runs.clear()
        self.runs = {key: _sre_compile.compile(run, 0) for key, run in self.runs.items()}
        first = self.items[0] if self.items else (None, None)
        self.anchored = first[0] is _sre.AT and (first[1] in _STARTS or (
            first[1] is _sre.AT_BEGINNING and not self.flags & _sre.SRE_FLAG_MULTILINE))

    def steps(self, text: str, searching: bool) -> int:
        """At most how many steps ``re`` takes to match against ``text``: by ``search``
        (``searching``: also ``sub``, ``findall``, ``finditer``, which try each start once)
        or by ``match``/``fullmatch``. Reads ``text`` once per class in :attr:`runs`, and once
        for the characters it holds."""
        length = len(text)
        # the longest run of each class, counted in C (findall, len, max: no Python frame per
        # run, and a one-character run is the interpreter's cached one-character string)
        runs = {key: max(map(len, run.findall(text)), default=0)
                for key, run in self.runs.items()}
        chars = set(text)
        subject = _Subject(length, runs, chars if len(chars) <= _FEW else None)
        tail = self.sequence(subject, self.items, _Tail(0, 1, {_ACCEPT}, True, 0))
        return (tail.fail + tail.success) * (length + 1 if searching and not self.anchored
                                             else 1)

    def sequence(self, subject: _Subject, items: list[Any], tail: _Tail) -> _Tail:
        """The work of ``items`` followed by ``tail``, read from the end."""
        for op, argument in reversed(items):
            if op in _CHARS:
                tail = _Tail(tail.fail + tail.success + 1, 0, {(op, _frozen(argument))},
                             False, 1)
            elif op is _sre.AT:
                follow = tail.follow | {(_sre.LITERAL, 10)} if argument in _ENDS else \
                    tail.follow  # $ also matches before a "\n"
                tail = _Tail(tail.fail + tail.success + 1, 0, follow, False, tail.head + 1)
            elif op is _sre.SUBPATTERN:
                tail = self.sequence(subject, list(argument[-1]), tail)
            elif op is _ATOMIC:
                tail = self.sequence(subject, list(argument), tail)
            elif op is _sre.BRANCH:
                tail = self.branch(subject, argument[1], tail)
            elif op in _REPEATS or op is _POSSESSIVE:
                tail = self.repeat(subject, op, argument, tail)
            else:  # refused before this is called; should anything else come, count it
                tail = _Tail((tail.fail + tail.success) * (subject.length + 1), 0,
                             tail.follow | {_NULL}, False, tail.head + 1)
        return tail

    def branch(self, subject: _Subject, branches: list[Any], tail: _Tail) -> _Tail:
        tails = [self.sequence(subject, list(branch), tail) for branch in branches]
        disjoint = all(not self.overlap(subject, tails[i].follow, tails[j].follow)
                       for i in range(len(tails)) for j in range(i))
        head = max(each.head for each in tails) + 1
        fails = [each.fail for each in tails]
        if all(each.sure for each in tails):  # the first branch matches, and nothing fails
            return _Tail(0, max(each.success for each in tails) + head, tail.follow, True,
                         head)
        return _Tail((max(fails) if disjoint else sum(fails)) + len(tails) * head,
                     max(each.success for each in tails), set().union(
                         *(each.follow for each in tails)), False, head)

    def repeat(self, subject: _Subject, op: Any, argument: Any, tail: _Tail) -> _Tail:
        low, high, body = argument
        inner = self.sequence(subject, list(body), _Tail(0, 0, {_NULL}, True, 0))
        scan, first = max(inner.fail + inner.success, 1), inner.follow - {_NULL}
        shortest = _shortest(body)
        most = subject.length // shortest if shortest else subject.length + 1
        if len(body) == 1:  # one character class: at most its longest run in the subject
            most = min(most, subject.runs.get(_frozen(body[0]), most))
        counts = max(min(high, most) - low + 1, 1)
        retried = counts if op is not _POSSESSIVE and not tail.sure and self.overlap(
            subject, first, tail.follow) else 1
        fail = (low + counts) * scan + counts * (tail.head + 1) + retried * tail.fail
        nullable = low == 0 or shortest == 0
        if nullable and tail.sure:  # matches whatever follows: only ever on the way to a match
            return _Tail(0, fail + tail.success, first | tail.follow, True, tail.head + 1)
        return _Tail(fail, tail.success, first | tail.follow if nullable else first, False,
                     tail.head + 1 if nullable else 1)

    def overlap(self, subject: _Subject, one: set[Any], other: set[Any]) -> bool:
        """Whether a character of the subject can start both."""
        if _NULL in one or _NULL in other:
            return True
        for a in one:
            for b in other:
                if a is _ACCEPT or b is _ACCEPT:
                    continue
                if subject.chars is not None:  # a few characters: each one tried
                    if _meet(a, b, self.flags, subject.chars):
                        return True
                    continue
                key = (a, b)
                if key not in self.meets:
                    self.meets[key] = self.meets[(b, a)] = _meet(a, b, self.flags)
                if self.meets[key]:
                    return True
        return False


def _frozen(argument: Any) -> Any:
    """An item's argument, hashable."""
    if isinstance(argument, list):
        return tuple(_frozen(member) for member in argument)
    if isinstance(argument, tuple):
        return tuple(_frozen(member) for member in argument)
    return argument


def _shortest(items: Any) -> int:
    """The fewest characters ``items`` can match."""
    total = 0
    for op, argument in items:
        if op in _CHARS:
            total += 1
        elif op is _sre.SUBPATTERN:
            total += _shortest(argument[-1])
        elif op is _ATOMIC:
            total += _shortest(argument)
        elif op is _sre.BRANCH:
            total += min(_shortest(branch) for branch in argument[1])
        elif op in _REPEATS or op is _POSSESSIVE:
            total += argument[0] * _shortest(argument[2])
    return total


def _meet(a: tuple[Any, Any], b: tuple[Any, Any], flags: int,
          chars: set[str] | None = None) -> bool:
    """Whether two character items (``(op, argument)``) can match the same character (one of
    ``chars``, the subject's, where they are given)."""
    if flags & (_sre.SRE_FLAG_ASCII | _sre.SRE_FLAG_LOCALE):
        return True  # categories by other rules than Unicode's: not compared
    try:
        if chars is not None:
            return any(_matches_any(a, ch, flags) and _matches_any(b, ch, flags)
                       for ch in chars)
        return _meet_unicode(a, b, flags)
    except KeyError:  # a category not known here: taken to overlap
        return True


def _meet_unicode(a: tuple[Any, Any], b: tuple[Any, Any], flags: int) -> bool:
    candidates = set(_UNIVERSE)
    for op, argument in (a, b):
        if op in (_sre.LITERAL, _sre.NOT_LITERAL):
            candidates.add(chr(argument))
        elif op is _sre.IN:
            for kind, value in argument:
                if kind is _sre.LITERAL:
                    candidates.add(chr(value))
                elif kind is _sre.RANGE and value[1] >= 0x300:
                    if value[1] - value[0] > _WIDE:
                        return True
                    candidates.update(map(chr, range(value[0], value[1] + 1)))
    if flags & _sre.SRE_FLAG_IGNORECASE:
        candidates |= {variant for ch in candidates for variant in _variants(ch)}
    return any(_matches_any(a, ch, flags) and _matches_any(b, ch, flags) for ch in candidates)


def _variants(ch: str) -> set[str]:
    return {ch} | {v for v in (ch.lower(), ch.upper(), ch.casefold()) if len(v) == 1}


def _matches_any(item: tuple[Any, Any], ch: str, flags: int) -> bool:
    """Whether ``item`` matches ``ch`` (or, ignoring case, a case variant of it)."""
    if flags & _sre.SRE_FLAG_IGNORECASE:
        return any(_matches(item, variant, flags) for variant in _variants(ch))
    return _matches(item, ch, flags)


def _matches(item: tuple[Any, Any], ch: str, flags: int) -> bool:
    op, argument = item
    if op is _sre.LITERAL:
        return bool(ord(ch) == argument)
    if op is _sre.NOT_LITERAL:
        return bool(ord(ch) != argument)
    if op is _sre.ANY:
        return ch != "\n" or bool(flags & _sre.SRE_FLAG_DOTALL)
    negate, found = False, False
    for kind, value in argument:
        if kind is _sre.NEGATE:
            negate = True
        elif kind is _sre.LITERAL:
            found = found or ord(ch) == value
        elif kind is _sre.RANGE:
            found = found or value[0] <= ord(ch) <= value[1]
        elif kind is _sre.CATEGORY:
            found = found or _CATEGORIES[value](ch)
    return found != negate

"""Text-level scans of a chat template: what is found in its characters, not its AST.

Invisible and bidirectional code points, URLs, IP addresses, shell command lines and
base64-looking runs (QL602), and the fallback scan for dunder names and shell sinks when a
template is not parsed (QL601). Every pattern starts with a literal or a character class so
the regex engine can skip ahead, and each scan examines a bounded number of candidates: a
1 MB template scans in tens of milliseconds, whatever it contains.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any, Protocol

from quantlint.facts import template_patterns as P

MAX_ISSUES = 50  # per category and template: a hostile template must not flood the report


class Sink(Protocol):
    items: dict[Any, Any]

    def add(self, kind_: str, line: int | None, construct: str, *reasons: str) -> None: ...


class LineIndex:
    """Offset -> line number by binary search (many matches in a big template stay linear)."""

    def __init__(self, source: str) -> None:
        self.newlines = [m.start() for m in re.finditer("\n", source)]

    def line(self, offset: int) -> int:
        return bisect_right(self.newlines, offset - 1) + 1


def _word_bounded(source: str, start: int, end: int) -> bool:
    """The match is not glued to letters, digits, '_' or a dotted number on either side."""
    before = source[start - 1] if start > 0 else " "
    after = source[end] if end < len(source) else " "
    after2 = source[end + 1] if end + 1 < len(source) else " "
    if before.isalnum() or before in "._" or after.isalnum() or after == "_":
        return False
    return not (after == "." and after2.isdigit())


def _identifier_bounded(source: str, start: int, end: int) -> bool:
    """`x.popen(` counts, `mypopen` does not."""
    before = source[start - 1] if start > 0 else " "
    after = source[end] if end < len(source) else " "
    return not (before.isalnum() or before == "_" or after.isalnum() or after == "_")


def _network_hit(name: str, source: str, match: re.Match[str]) -> tuple[int, str] | None:
    """(start, text) when a candidate match really is a URL, an address or a command line."""
    start, end, text = match.start(), match.end(), match.group(0)
    if name == "ipv4":
        around = P.ipv4_around(source, start, end)
        if around is None:
            return None
        start, end, text = around
        return (start, text) if _word_bounded(source, start, end) else None
    if name == "shell" and not text.startswith("/bin/"):
        command = P.SHELL_COMMANDS.search(source, max(0, start - 16), start)
        if command is None:
            return None
        first = command.start() + (0 if source[command.start()].isalpha() else 1)
        return first, source[first:end]
    return start, text


# Where a shell command line can start: found by searching for these literals (at C speed)
# instead of letting the regex engine try its leading character class at every space of a
# megabyte of prose. Each literal is searched with a compiled regex, not str.find: in prose,
# where every few characters is a space, str.find(" -") is about twice as slow as the regex
# engine's literal search.
_SHELL_STARTS = tuple(re.compile(re.escape(literal)) for literal in (" -", "\t-", "/bin/"))


def _shell_candidates(source: str, pattern: Any) -> Iterator[re.Match[str]]:
    """The matches of the shell pattern, left to right and not overlapping, as finditer gives them."""
    starts: list[int] = []
    for literal in _SHELL_STARTS:
        hit = literal.search(source)
        while hit is not None and len(starts) < 4 * P.MAX_SCAN_CANDIDATES:
            starts.append(hit.start())
            hit = literal.search(source, hit.start() + 1)  # overlapping, as str.find(j + 1) gave
    last_end = 0
    for start in sorted(starts):
        if start < last_end:
            continue
        match = pattern.match(source, start)
        if match is not None:
            last_end = match.end()
            yield match


# A base64 run is BASE64_MIN_RUN class characters in a row, so it covers at least one offset
# that is BASE64_MIN_RUN - 1 modulo BASE64_MIN_RUN. Looking at those offsets only (a slice, at C
# speed) finds the few places a run can be; finditer over the whole text instead restarts the
# character class at every letter of a megabyte of prose (12 ms of the 1 MB attack template).
_BASE64_CHAR = re.compile(r"[A-Za-z0-9+/]")
_LAST_NON_BASE64 = re.compile(r"(?s).*[^A-Za-z0-9+/]")  # greedy: the last break in a window


def _base64_runs(source: str) -> Iterator[re.Match[str]]:
    """The matches of BASE64_RUN, left to right and not overlapping, as finditer gives them."""
    step = P.BASE64_MIN_RUN
    last_end = 0
    for sample in _BASE64_CHAR.finditer(source[step - 1::step]):
        at = step - 1 + sample.start() * step
        if at < last_end:
            continue
        # The run holding `at` starts after the last break before it. No break in the window
        # means it starts at the window's edge: the sample one step back is a break (or the
        # run holding it was matched already, and last_end bounds the window).
        low = max(last_end, at - step + 1)
        before = _LAST_NON_BASE64.match(source, low, at)
        match = P.BASE64_RUN.match(source, before.end() if before else low)
        if match is not None:
            last_end = match.end()
            yield match


def text_scans(source: str, found: Sink) -> None:
    lines = LineIndex(source)
    if not source.isascii():  # every invisible character is outside ASCII
        _invisible(source, lines, found)
    for name, (pattern, reason) in P.NETWORK_PATTERNS.items():
        if name == "url" and "://" not in source:
            continue
        if name == "shell" and " -" not in source and "\t-" not in source and "/bin/" not in source:
            continue
        hits = 0
        matches = _shell_candidates(source, pattern) if name == "shell" else pattern.finditer(source)
        for candidates, match in enumerate(matches):
            if candidates >= P.MAX_SCAN_CANDIDATES or hits >= MAX_ISSUES:
                break
            hit = _network_hit(name, source, match)
            if hit is not None:
                found.add(f"network-{name}", lines.line(hit[0]), hit[1][:80], reason)
                hits += 1
    for hits, match in enumerate(_base64_runs(source)):
        if hits >= MAX_ISSUES:
            break
        found.add("encoded-payload", lines.line(match.start()), match.group(0)[:40] + "\u2026",
                  f"a {len(match.group(0))}-character base64-looking run: an encoded payload hides what it says")


# Every invisible character is outside ASCII, and str.isascii() on a block runs at memory
# speed: the character-class regex runs only on the blocks that have a non-ASCII character (a
# megabyte of English prose with a hundred hidden characters: 3 ms -> well under 1).
_ASCII_BLOCK = 4096


def _invisible_candidates(source: str) -> Iterator[re.Match[str]]:
    """The matches of INVISIBLE_CHARS, left to right, as finditer over the whole text gives them
    (each match is one character, so none straddles two blocks)."""
    for low in range(0, len(source), _ASCII_BLOCK):
        high = low + _ASCII_BLOCK
        if not source[low:high].isascii():
            yield from P.INVISIBLE_CHARS.finditer(source, low, high)


def _invisible(source: str, lines: LineIndex, found: Sink) -> None:
    """Invisible and bidi characters, judged by what they do where they stand
    (template_patterns.invisible_verdict): hiding or reordering text is an error, typography
    in right-to-left and Indic scripts is nothing, anything else a warning. One issue per line
    and verdict."""
    seen: set[tuple[int, str]] = set()
    for examined, match in enumerate(_invisible_candidates(source)):
        if examined >= P.MAX_SCAN_CANDIDATES:
            break
        line = lines.line(match.start())
        if (line, "hides") in seen:
            continue  # the worst verdict for this line is given already
        verdict = P.invisible_verdict(source, match.start())
        if verdict is None or (line, verdict) in seen:
            continue
        if len(seen) >= MAX_ISSUES:
            break
        seen.add((line, verdict))
        cp = ord(match.group(0))
        label = next(lbl for start, end, lbl in P.INVISIBLE_RANGES if start <= cp <= end)
        if verdict == "hides":
            found.add("invisible-instruction", line, f"U+{cp:04X}",
                      f"{label}: it hides or reorders the text around it, so what a reviewer reads is not what the model gets")
        else:
            found.add("invisible-unicode", line, f"U+{cp:04X}", f"{label}: text a reviewer cannot see, or that reorders what they see")


_RAW_DUNDER = re.compile(r"__[A-Za-z]\w*__")
_RAW_SINKS = re.compile(r"(?:popen|subprocess|os\.system|check_output)")


def raw_code_scan(source: str, why: str, found: Sink) -> None:
    """When the template is not parsed, still say where it names Python internals."""
    lines = LineIndex(source)
    for pattern in (_RAW_DUNDER, _RAW_SINKS):
        for match in pattern.finditer(source):
            if pattern is _RAW_SINKS and not _identifier_bounded(source, match.start(), match.end()):
                continue
            if len(found.items) >= MAX_ISSUES:
                break
            found.add("python-internals", lines.line(match.start()), match.group(0), why)

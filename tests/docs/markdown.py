"""Fenced code blocks, test directives and links of the Markdown docs.

The convention the docs tests read (see `docs/README.md`, "Writing docs"):

* a fenced block's language says what is checked: `python` blocks run, `sh`, `bash`
  and `console` blocks have their `tarry ...` commands checked;
* `<!-- test: CODE -->` on the first non-blank line after a block runs `CODE` after it,
  in the page's namespace (a driver: answer the waits, check the outcome);
* `<!-- test-before: CODE -->` on the last non-blank line before a block runs `CODE`
  before it (names the excerpt assumes);
* `<!-- test: skip because REASON -->` after a block does not run it, and says why;
* `<!-- test-page: server postgres fake_clock -->` anywhere asks for page fixtures.

Comments are invisible on GitHub. `CODE` starts on the comment's first line or on the
lines after it, at column 0.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

__all__ = ["Block", "Directive", "Link", "Page", "heading_anchors", "read_page"]

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
_COMMENT = re.compile(r"<!--\s*(?P<kind>test|test-before|test-page):(?P<body>.*?)-->", re.DOTALL)
_LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
_SKIP = re.compile(r"^skip\b(?:\s+because\b)?\s*(?P<reason>.*)$", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Directive:
    """One `<!-- test...: ... -->` comment."""

    kind: str
    """`test`, `test-before` or `test-page`."""
    code: str
    """Its body: code padded with blank lines, so its line numbers are the page's."""
    line: int
    """Line of the comment's start (1-based)."""
    end_line: int
    """Line of the comment's end."""

    @property
    def skip_reason(self) -> str | None:
        """The reason of a `skip because ...` directive; `None` for code."""
        found = _SKIP.match(self.code.strip())
        return found["reason"].strip() if found and self.kind == "test" else None


@dataclasses.dataclass(frozen=True)
class Block:
    """A fenced code block with the directives around it."""

    page: Path
    lang: str
    code: str
    """The block's text, padded with blank lines so its line numbers are the page's."""
    line: int
    """Line of the opening fence (1-based)."""
    before: Directive | None = None
    after: Directive | None = None

    @property
    def where(self) -> str:
        """`docs/page.md:LINE`, for messages."""
        return f"{_shown(self.page)}:{self.line}"

    @property
    def skip_reason(self) -> str | None:
        """Why the block is not run, if a `skip because` directive follows it."""
        return self.after.skip_reason if self.after else None


@dataclasses.dataclass(frozen=True)
class Link:
    """A Markdown link outside code."""

    target: str
    line: int


@dataclasses.dataclass(frozen=True)
class Page:
    """A Markdown file read for the tests."""

    path: Path
    blocks: list[Block]
    fixtures: frozenset[str]
    """Words of its `test-page` directives."""
    links: list[Link]
    spans: list[tuple[int, str]]
    """`(line, text)` of each inline code span outside blocks."""
    stray: list[Directive]
    """`test` directives attached to no block: mistakes the tests report."""


def _shown(path: Path) -> str:
    root = Path(__file__).resolve().parents[2]
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _pad(text: str, first_line: int) -> str:
    return "\n" * (first_line - 1) + text


def _fenced(lines: list[str]) -> list[tuple[int, int, str]]:
    """`(opening index, closing index, language)` of each fenced block (0-based)."""
    found = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening["fence"]
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        found.append((i, j, opening["lang"].lower()))
        i = j + 1
    return found


def _directive(match: re.Match[str], text: str) -> Directive:
    line = text.count("\n", 0, match.start()) + 1
    end_line = text.count("\n", 0, match.end()) + 1
    first, _, rest = match["body"].partition("\n")
    if first.strip():
        body = _pad(first.strip() + ("\n" + textwrap.dedent(rest) if rest else ""), line)
    else:
        body = _pad(textwrap.dedent(rest), line + 1)
    return Directive(match["kind"], body, line, end_line)


def _next_text_line(lines: list[str], start: int, step: int) -> int:
    """Index of the first non-blank line from `start` going by `step` (-1 or 1)."""
    i = start
    while 0 <= i < len(lines) and not lines[i].strip():
        i += step
    return i


def read_page(path: Path) -> Page:
    """Read a page's blocks (with their directives), fixtures and links."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    spans = _fenced(lines)
    inside = {k for start, end, _ in spans for k in range(start, end + 1)}
    # A comment quoted as inline code (`<!-- test: ... -->`) is prose, not a directive.
    quoted = (m for m in _COMMENT.finditer(text) if not text[: m.start()].endswith("`"))
    directives = [d for d in (_directive(m, text) for m in quoted) if d.line - 1 not in inside]
    blocks, used = [], set()
    for start, end, lang in spans:
        indent = len(lines[start]) - len(lines[start].lstrip())
        code = _pad("\n".join(x[indent:] for x in lines[start + 1 : end]), start + 2)
        before = _attached(directives, "test-before", _next_text_line(lines, start - 1, -1) + 1)
        after = _attached(directives, "test", _next_text_line(lines, end + 1, 1) + 1, first=True)
        used |= {id(d) for d in (before, after) if d}
        blocks.append(Block(path, lang, code, start + 1, before, after))
    pages = [d for d in directives if d.kind == "test-page"]
    fixtures = frozenset(word for d in pages for word in d.code.split())
    stray = [d for d in directives if d.kind != "test-page" and id(d) not in used]
    spans_found = [
        (i + 1, m.group()[1:-1])
        for i, line in enumerate(lines)
        if i not in inside
        for m in _INLINE_CODE.finditer(line)
    ]
    return Page(path, blocks, fixtures, _links(lines, inside), spans_found, stray)


def _attached(
    directives: list[Directive], kind: str, line: int, *, first: bool = False
) -> Directive | None:
    for d in directives:
        if d.kind == kind and (d.line if first else d.end_line) == line:
            return d
    return None


def _links(lines: list[str], inside: set[int]) -> list[Link]:
    found = []
    for i, line in enumerate(lines):
        if i in inside:
            continue
        prose = _INLINE_CODE.sub("", line)
        found += [Link(m["target"], i + 1) for m in _LINK.finditer(prose)]
    return found


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub makes for a page's headings (`## A b` → `a-b`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    inside = {k for start, end, _ in _fenced(lines) for k in range(start, end + 1)}
    anchors: set[str] = set()
    for i, line in enumerate(lines):
        heading = _HEADING.match(line)
        if heading and i not in inside:
            slug = re.sub(r"[^\w\- ]", "", heading["text"].lower()).replace(" ", "-")
            anchors.add(_unique(slug, anchors))
    return anchors


def _unique(slug: str, taken: set[str]) -> str:
    if slug not in taken:
        return slug
    n = 1
    while f"{slug}-{n}" in taken:
        n += 1
    return f"{slug}-{n}"

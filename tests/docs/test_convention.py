"""The docs tests read the convention they document (`docs/README.md`, "Writing docs")."""

from __future__ import annotations

from pathlib import Path

from tests.docs import commands
from tests.docs.markdown import heading_anchors, read_page

PAGE = """\
# A page

<!-- test-page: server mail -->

<!-- test-before: run = start() -->
```python
answer(run)
```
<!-- test:
assert run.done
-->

```sh
export TARRY_DATABASE_URL=postgresql://db/tarry
tarry db upgrade && TARRY_HOME=/srv tarry runs ls  # both
python -m tarry worker \\
    --burst
./scripts/start
```

```python
never_run()
```
<!-- test: skip because it needs a real relay -->

Prose with `<!-- test: quoted -->`, a [link](other.md#a-b) and `tarry resume RUN --key go`.

## A `b`
"""


def _page(tmp_path: Path) -> Path:
    path = tmp_path / "page.md"
    path.write_text(PAGE, encoding="utf-8")
    return path


def test_blocks_keep_their_page_line_numbers_and_their_comments(tmp_path: Path) -> None:
    page = read_page(_page(tmp_path))
    first, shell, skipped = page.blocks
    assert (first.lang, first.line) == ("python", 6)
    assert first.code.split("\n")[6] == "answer(run)"
    assert first.before is not None
    assert first.before.code.strip() == "run = start()"
    assert first.after is not None
    assert first.after.code.split("\n")[9] == "assert run.done"
    assert shell.before is None
    assert shell.after is None
    assert skipped.skip_reason == "it needs a real relay"
    assert page.fixtures == {"server", "mail"}
    assert page.stray == []


def test_shell_lines_give_tarry_commands_with_their_environment(tmp_path: Path) -> None:
    shell = read_page(_page(tmp_path)).blocks[1]
    found = commands.commands_of(shell.code, shell.lang)
    url = {"TARRY_DATABASE_URL": "postgresql://db/tarry"}
    assert [(c.args, c.env, c.line) for c in found] == [
        (("db", "upgrade"), url, 15),
        (("runs", "ls"), {**url, "TARRY_HOME": "/srv"}, 15),
        (("worker", "--burst"), url, 16),
    ]
    assert [commands.is_safe(c.args) for c in found] == [True, True, False]


def test_console_blocks_run_only_their_prompt_lines() -> None:
    found = commands.commands_of("$ tarry inputs ls\ntarry output line\n$ tarry --help", "console")
    assert [(c.args, c.line) for c in found] == [(("inputs", "ls"), 1), (("--help",), 3)]


def test_the_real_command_line_judges_commands() -> None:
    assert commands.parse_error(("runs", "ls", "--state", "Waiting")) is None
    assert commands.parse_error(("--help",)) is None
    assert "--nope" in str(commands.parse_error(("runs", "ls", "--nope")))
    assert "fly" in str(commands.parse_error(("fly",)))
    assert "max-runs" in str(commands.parse_error(("worker", "--max-runs", "many")))
    assert commands.parse_error(("resume",)) is not None
    assert commands.parse_error(("resume",), mention=True) is None


def test_inline_spans_are_commands_unless_written_as_usage(tmp_path: Path) -> None:
    page = read_page(_page(tmp_path))
    spans = [span for _line, span in page.spans]
    assert "tarry resume RUN --key go" in spans
    assert commands.inline_command("tarry resume RUN --key go") == ("resume", "RUN", "--key", "go")
    assert commands.inline_command("tarry worker [--burst]") is None
    assert commands.inline_command("tarry runs ls|show") is None


def test_links_and_anchors(tmp_path: Path) -> None:
    page = read_page(_page(tmp_path))
    assert [(link.target, link.line) for link in page.links] == [("other.md#a-b", 26)]
    assert heading_anchors(page.path) == {"a-page", "a-b"}

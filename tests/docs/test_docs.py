"""Every code block of the docs is executed or checked, so the docs cannot rot.

One test per page (`docs/*.md` and `README.md`): its `python` blocks run in order in
one namespace, a module of its own, inside a fresh `tarry_test_harness()` and a
temporary working folder; `<!-- test: ... -->` comments drive them (see
`tests/docs/markdown.py` and `docs/README.md`). Its shell blocks' `tarry` commands
are parsed by the real CLI, and the harmless ones run against a temporary
`TARRY_HOME`. Its relative links must point at files and headings that exist.
Every failure names the page and the line.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import json
import re
import sys
import traceback
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tarry.states import RunState
from tarry.testing import tarry_test_harness
from tests.conftest import ROOT, drop_postgres_schema, postgres_schema_url, run_tarry
from tests.docs import commands
from tests.docs.markdown import Block, Directive, Page, heading_anchors, read_page
from tests.e2e.live import live_server
from tests.smtp_capture import mail_catcher

PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
PYTHON = {"python", "py", "python3"}
SHELL = {"sh", "bash", "console", "shell"}
FIXTURES = {"server", "postgres", "fake_clock", "mail"}
MAX_SKIPPED = 3
"""Blocks that may be skipped in all the docs; raise it only with a reason in the docs."""


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _skipped() -> list[tuple[Block, str]]:
    return [(b, b.skip_reason) for p in PAGES for b in read_page(p).blocks if b.skip_reason]


# -- python blocks ---------------------------------------------------------------------------


def _run(code: str, namespace: dict[str, Any], filename: str) -> None:
    """Execute `code` like a REPL would: top-level `await` and `async with` are allowed."""
    compiled = compile(
        code, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    if compiled.co_flags & inspect.CO_COROUTINE:
        asyncio.run(eval(compiled, namespace))
    else:
        exec(compiled, namespace)


def _step(block: Block, code: str, what: str, namespace: dict[str, Any]) -> None:
    try:
        _run(code, namespace, str(block.page))
    except BaseException as exc:
        trace = "".join(traceback.format_exception(exc))
        pytest.fail(f"{block.where}: {what} failed:\n{trace}", pytrace=False)


def _run_block(block: Block, namespace: dict[str, Any]) -> None:
    if block.before:
        _step(block, block.before.code, "the test-before comment of the block", namespace)
    if block.lang in PYTHON:
        _step(block, block.code, "the python block", namespace)
    if block.after:
        _step(block, block.after.code, "the test comment after the block", namespace)


@contextlib.contextmanager
def _page_module(page: Path) -> Iterator[dict[str, Any]]:
    """A fresh module for the page's blocks, importable while they run.

    Flows, inputs and dataclasses the blocks define are then found by their
    `module:name` reference, as another process would find a real module's.
    """
    name = "tarry_docs_" + re.sub(r"\W", "_", _id(page).removesuffix(".md")).lower()
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        yield module.__dict__
    finally:
        del sys.modules[name]


@contextlib.contextmanager
def _fixtures(wanted: frozenset[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The page's harness and what its `test-page` comment asks for, as namespace entries."""
    with contextlib.ExitStack() as stack:
        given: dict[str, Any] = {"RunState": RunState, "ROOT": ROOT}
        settings: dict[str, Any] = {}
        if "mail" in wanted:
            given["mail"] = stack.enter_context(mail_catcher())
            settings.update(given["mail"].settings())
        if "postgres" in wanted:
            settings["database_url"] = postgres_schema_url()
            stack.callback(drop_postgres_schema, settings["database_url"])
        fake_clock = "fake_clock" in wanted
        harness = stack.enter_context(tarry_test_harness(fake_clock=fake_clock, **settings))
        given["harness"] = harness
        if "server" in wanted:
            given["server_url"] = url = stack.enter_context(live_server(harness.host))
            monkeypatch.setenv("TARRY_API_URL", f"{url}/api")
        yield given


def _python_blocks(page: Page) -> list[Block]:
    """Python blocks, and other blocks with python test comments (a shell block's driver)."""
    return [
        b
        for b in page.blocks
        if not b.skip_reason and (b.lang in PYTHON or b.before or _is_code(b.after))
    ]


def _check_directives(page: Page) -> None:
    where = _id(page.path)
    problems = [f"{where}:{d.line}: a `{d.kind}` comment next to no block" for d in page.stray]
    unknown = sorted(page.fixtures - FIXTURES)
    problems += [f"{where}: unknown test-page fixture {word!r}" for word in unknown]
    for block in page.blocks:
        if block.after and block.after.skip_reason == "":
            problems.append(f"{block.where}: `skip` needs a reason: `skip because ...`")
    assert not problems, "\n".join(problems)


def _is_code(directive: Directive | None) -> bool:
    return directive is not None and directive.skip_reason is None


@pytest.mark.timeout(120)
@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's python blocks run in order, with their test comments, and pass."""
    parsed = read_page(page)
    _check_directives(parsed)
    blocks = _python_blocks(parsed)
    if not blocks:
        return
    monkeypatch.chdir(tmp_path)
    with _page_module(page) as namespace, _fixtures(parsed.fixtures, monkeypatch) as given:
        namespace.update(given)
        for block in blocks:
            _run_block(block, namespace)


def test_skipped_blocks_are_few_and_listed() -> None:
    """Skipping is the exception: the docs run, they are not just shown.

    The skipped blocks, with their reasons, appear in pytest's summary (`-ra`).
    """
    skipped = _skipped()
    listed = "\n".join(f"{block.where}: {reason}" for block, reason in skipped)
    assert len(skipped) <= MAX_SKIPPED, f"more than {MAX_SKIPPED} blocks skipped:\n{listed}"
    if skipped:
        pytest.skip(f"{len(skipped)} docs blocks are not run:\n{listed}")


# -- shell blocks ---------------------------------------------------------------------------


def _shell_commands(page: Page) -> list[tuple[Block, commands.Command]]:
    return [
        (block, command)
        for block in page.blocks
        if block.lang in SHELL and not block.skip_reason
        for command in commands.commands_of(block.code, block.lang)
    ]


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_shell_commands_parse(page: Path) -> None:
    """Every `tarry` command of the page's shell blocks exists with the options shown."""
    problems = []
    for _block, command in _shell_commands(read_page(page)):
        error = commands.parse_error(command.args) or _missing_script(command.args)
        if error:
            problems.append(f"{_id(page)}:{command.line}: tarry {' '.join(command.args)}: {error}")
    assert not problems, "\n".join(problems)


def _missing_script(args: tuple[str, ...]) -> str | None:
    """A `path/file.py:flow` argument naming a file the repository does not have."""
    for arg in args:
        script = arg.partition(":")[0]
        relative = script.endswith(".py") and not Path(script).is_absolute()
        if relative and not (ROOT / script).is_file():
            return f"no file {script} in the repository"
    return None


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_json_blocks_parse(page: Path) -> None:
    """`json` blocks are valid JSON."""
    problems = []
    for block in read_page(page).blocks:
        if block.lang == "json":
            try:
                json.loads(block.code)
            except json.JSONDecodeError as exc:
                problems.append(f"{_id(page)}:{exc.lineno}: {exc.msg}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_inline_commands_parse(page: Path) -> None:
    """Inline `tarry ...` commands of the prose exist too (usage notation like `[--x]` aside)."""
    problems = []
    for line, span in read_page(page).spans:
        args = commands.inline_command(span)
        error = commands.parse_error(args, mention=True) if args else None
        if error:
            problems.append(f"{_id(page)}:{line}: `{span}`: {error}")
    assert not problems, "\n".join(problems)


def _real_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The command's environment, with its databases and folders made temporary."""
    real = {k: v for k, v in env.items() if k.startswith("TARRY_") and k != "TARRY_HOME"}
    url = real.get("TARRY_DATABASE_URL", "")
    if url.startswith(("postgresql:", "postgres:")):
        real["TARRY_DATABASE_URL"] = postgres_schema_url()
    elif url:
        real["TARRY_DATABASE_URL"] = f"sqlite:///{tmp_path / 'doc.db'}"
    return real


@pytest.mark.timeout(120)
@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_safe_commands_run(page: Path, tmp_path: Path) -> None:
    """`tarry runs ls`, `inputs ls`, `db upgrade` and `--help` of the page really run."""
    problems = []
    for _block, command in _shell_commands(read_page(page)):
        if not commands.is_safe(command.args) or commands.parse_error(command.args):
            continue
        home = tmp_path / f"home-{command.line}"
        home.mkdir()
        env = _real_env(command.env, tmp_path)
        try:
            done = run_tarry(home, *command.args, cwd=tmp_path, env=env)
        finally:
            if env.get("TARRY_DATABASE_URL", "").startswith("postgres"):
                drop_postgres_schema(env["TARRY_DATABASE_URL"])
        if done.returncode != 0:
            problems.append(f"{_id(page)}:{command.line}: exit {done.returncode}: {done.stderr}")
    assert not problems, "\n".join(problems)


# -- links -------------------------------------------------------------------------------------


def _link_problem(page: Path, target: str) -> str | None:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):
        return None  # http:, https:, mailto: ...
    path_part, _, anchor = target.partition("#")
    linked = (page.parent / path_part).resolve() if path_part else page
    if not linked.exists():
        return f"{target}: no such file"
    if anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
        return f"{target}: no heading #{anchor} in {_id(linked)}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link of the page names an existing file, and heading if it has `#`."""
    problems = []
    for link in read_page(page).links:
        problem = _link_problem(page, link.target)
        if problem:
            problems.append(f"{_id(page)}:{link.line}: {problem}")
    assert not problems, "\n".join(problems)

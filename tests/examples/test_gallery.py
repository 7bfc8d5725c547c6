"""`examples/README.md` is the gallery: it names every example and the test that runs it,
its pictures exist, and its code runs."""

from __future__ import annotations

import re

import pytest

from tarry.testing import tarry_test_harness
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"
GALLERY = (EXAMPLES / "README.md").read_text()


def _examples() -> list[str]:
    found = EXAMPLES.rglob("*.py")
    return sorted(str(p.relative_to(EXAMPLES)) for p in found if "__pycache__" not in p.parts)


def _row_of(example: str) -> str:
    """The gallery's table row of an example (or of its folder's own README)."""
    for line in GALLERY.splitlines():
        if line.startswith("|") and (f"({example})" in line or f"`{example}`" in line):
            return line
    folder = example.split("/", maxsplit=1)[0]
    for line in GALLERY.splitlines():
        if line.startswith("|") and f"({folder}/README.md)" in line:
            return line
    raise AssertionError(f"examples/README.md has no row for {example}")


@pytest.mark.parametrize("example", _examples())
def test_every_example_is_in_the_gallery_with_an_existing_test(example: str) -> None:
    row = _row_of(example)
    tests = re.findall(r"`(tests/[\w/]+\.py)`", row)
    assert tests, f"the row of {example} names no test"
    for test in tests:
        assert (ROOT / test).is_file(), f"{example}: {test} does not exist"


def test_every_link_and_picture_exists() -> None:
    targets = re.findall(r"\]\(([^)#]+)\)", GALLERY)
    missing = [t for t in targets if not (EXAMPLES / t).exists()]
    assert missing == []
    assert any(t.startswith("images/") for t in targets)


def test_the_testing_snippet_runs() -> None:
    [code] = re.findall(r"```python\n(.*?)```", GALLERY, re.DOTALL)
    namespace: dict[str, object] = {}
    exec(compile(code, "examples/README.md", "exec"), namespace)
    test = namespace["test_finance_approves"]
    assert callable(test)
    with tarry_test_harness(fake_clock=True) as harness:
        test(harness)

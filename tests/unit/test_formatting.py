"""How the UI names where a flow's code is."""

from __future__ import annotations

import pytest

from tarry.web import formatting


@pytest.mark.parametrize(
    ("entrypoint", "shown"),
    [
        ("/work/main/examples/finance/challenge_4.py:train_model", "finance/challenge_4.py"),
        ("examples/drip_campaign/challenge_4.py:drip_campaign", "drip_campaign/challenge_4.py"),
        ("pipeline.py:pipeline", "pipeline.py"),
        ("C:\\flows\\report.py:report", "flows/report.py"),
        ("my_package.flows:nightly", "my_package.flows"),
    ],
)
def test_source_tells_flows_of_the_same_name_apart(entrypoint: str, shown: str) -> None:
    assert formatting.source(entrypoint) == shown


@pytest.mark.parametrize(
    ("markdown", "line"),
    [
        ("**12,500 rows** will replace `customers`.\n\nOK?", "12,500 rows will replace customers."),
        ("## Publish `customers`", "Publish customers"),
        ("\n- *one* item", "one item"),
        (None, ""),
    ],
)
def test_an_inbox_preview_is_the_first_line_without_markup(markdown: str | None, line: str) -> None:
    assert formatting.first_line(markdown) == line

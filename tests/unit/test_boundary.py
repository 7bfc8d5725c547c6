"""The input boundary's rules, at their edges (the server's answers are in tests/e2e)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tarry import boundary, config, errors

SETTINGS = config.Settings()


def _nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _refusal(value: Any, **texts: str | None) -> errors.FieldError:
    with pytest.raises(errors.ValueRefused) as refused:
        boundary.check(SETTINGS, "the answer", value, **texts)
    [problem] = refused.value.field_errors
    return problem


def test_json_as_deep_as_the_limit_passes_and_one_level_more_is_refused() -> None:
    boundary.check(SETTINGS, "the answer", {"a": _nested(63)})

    problem = _refusal({"a": _nested(64)})

    assert problem.type == "too_deep"
    assert problem.loc[:2] == ("a", 0)


def test_a_value_nested_100000_levels_is_refused_without_exhausting_the_stack() -> None:
    assert _refusal(_nested(100_000)).type == "too_deep"


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_numbers_that_are_not_finite_are_refused_where_they_are(number: float) -> None:
    problem = _refusal({"scores": [1.5, number]})

    assert (problem.loc, problem.type) == (("scores", 1), "not_finite")


def test_a_nul_is_refused_in_a_value_a_key_and_a_named_text() -> None:
    assert _refusal({"a": ["x\x00"]}).loc == ("a", 0)
    assert _refusal({"k\x00": 1}).loc == ("k\x00",)
    assert _refusal(None, responder="\x00").loc == ("responder",)


def test_fields_and_values_are_bounded_by_the_settings() -> None:
    small = config.Settings(max_field_chars=5, max_value_chars=40)
    boundary.check(small, "the message", ["12345"] * 4)

    with pytest.raises(errors.ValueRefused, match="at most 5 characters, not 6"):
        boundary.check(small, "the message", ["123456"])
    with pytest.raises(errors.ValueRefused, match="at most 40 characters of JSON"):
        boundary.check(small, "the message", ["12345"] * 6)


def test_what_passes_is_left_alone_and_none_texts_are_skipped() -> None:
    value = {"text": "é ✓", "n": 10**30, "f": 1e308, "ok": True, "none": None, "list": []}

    boundary.check(SETTINGS, "the answer", value, responder=None, key="k")

    assert value["n"] == 10**30


def test_an_id_with_a_nul_cannot_exist() -> None:
    assert boundary.may_exist("7f3c")
    assert not boundary.may_exist("7f\x003c")


def test_a_refusal_says_what_and_where() -> None:
    with pytest.raises(errors.ValueRefused) as refused:
        boundary.check(SETTINGS, "the message", {"a": math.nan})

    assert str(refused.value) == "the message cannot be stored: a: nan is not a JSON number"
    assert isinstance(refused.value, errors.InputInvalid)


def test_the_limits_are_settings_read_from_the_environment() -> None:
    env = {"TARRY_MAX_BODY_BYTES": "2048", "TARRY_MAX_JSON_DEPTH": "8"}

    settings = config.Settings.from_env(env)

    assert (settings.max_body_bytes, settings.max_json_depth) == (2048, 8)
    with pytest.raises(errors.ConfigurationError, match="TARRY_MAX_BODY_BYTES"):
        config.Settings(max_body_bytes=0)

"""Cache policies: what a key is made of, how policies compose, and keys that hold across
processes."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tarry import errors, task
from tarry.cache_policies import (
    DEFAULT,
    FLOW_PARAMETERS,
    INPUTS,
    NO_CACHE,
    RUN_ID,
    TASK_SOURCE,
    CacheKeyContext,
    CacheKeyFnPolicy,
    CompoundCachePolicy,
    Inputs,
)


@task
def add(x: int, y: int = 1) -> int:
    return x + y


@task
def multiply(x: int, y: int = 1) -> int:
    return x * y


def key(policy: Any, inputs: dict[str, Any], of: Any = add, **kwargs: Any) -> str | None:
    result: str | None = policy.compute_key(of, inputs, {"day": "mon"}, run_id="r1", **kwargs)
    return result


def test_inputs_key_follows_the_arguments_and_nothing_else() -> None:
    assert key(INPUTS, {"x": 1, "y": 2}) == key(INPUTS, {"y": 2, "x": 1})
    assert key(INPUTS, {"x": 1, "y": 2}) != key(INPUTS, {"x": 1, "y": 3})
    assert key(INPUTS, {"x": 1}) != key(INPUTS, {"x": 1}, of=multiply)  # scoped to the task


def test_sets_and_dicts_in_any_order_give_one_key() -> None:
    first = {"tags": {"b", "a", "c"}, "m": {2: "two", 1: "one"}}
    second = {"tags": {"c", "a", "b"}, "m": {1: "one", 2: "two"}}

    assert key(INPUTS, first) == key(INPUTS, second)


def test_leaving_an_input_out_ignores_its_value() -> None:
    policy = INPUTS - "y"

    assert key(policy, {"x": 1, "y": 2}) == key(policy, {"x": 1, "y": 99})
    assert key(policy, {"x": 1, "y": 2}) != key(policy, {"x": 2, "y": 2})
    assert policy == Inputs(("y",))
    assert repr(DEFAULT - "y") == "INPUTS - 'y' + TASK_SOURCE + RUN_ID"


def test_task_source_changes_with_the_code_only() -> None:
    assert key(TASK_SOURCE, {"x": 1}) == key(TASK_SOURCE, {"x": 2})
    assert key(TASK_SOURCE, {}) != key(TASK_SOURCE, {}, of=multiply)


def test_run_id_and_flow_parameters_keys() -> None:
    assert key(RUN_ID, {}) != RUN_ID.compute_key(add, {}, {}, run_id="r2")
    assert RUN_ID.compute_key(add, {}, {}) is None  # no run, no key
    assert key(FLOW_PARAMETERS, {}) != FLOW_PARAMETERS.compute_key(add, {}, {"day": "tue"})


def test_policies_compose_with_plus_and_drop_repeats() -> None:
    assert CompoundCachePolicy((INPUTS, TASK_SOURCE, RUN_ID)) == DEFAULT  # Prefect's
    assert INPUTS + INPUTS == INPUTS
    assert NO_CACHE + INPUTS == INPUTS
    assert INPUTS + NO_CACHE == INPUTS
    assert NO_CACHE + NO_CACHE == NO_CACHE
    assert CompoundCachePolicy((INPUTS, TASK_SOURCE, RUN_ID)) == (INPUTS + TASK_SOURCE) + RUN_ID
    assert key(DEFAULT, {"x": 1}) not in (key(INPUTS, {"x": 1}), key(TASK_SOURCE, {"x": 1}))


def test_no_cache_gives_no_key() -> None:
    assert key(NO_CACHE, {"x": 1}) is None
    assert NO_CACHE - "x" == NO_CACHE


def test_bad_operands_are_refused_clearly() -> None:
    with pytest.raises(TypeError, match="parameter name"):
        INPUTS - 3  # type: ignore[operator]
    with pytest.raises(TypeError, match="no inputs to leave 'x' out of"):
        TASK_SOURCE - "x"
    with pytest.raises(TypeError):
        INPUTS + "x"  # type: ignore[operator]


def test_an_input_that_is_not_json_is_named_in_the_error() -> None:
    with pytest.raises(errors.SerializationError, match=r"task 'add': parameter 'x'"):
        key(INPUTS, {"x": object()})


def test_a_cache_key_fn_gets_the_call_and_its_key_is_used_as_given() -> None:
    seen: list[CacheKeyContext] = []

    def by_x(context: CacheKeyContext, parameters: dict[str, Any]) -> str:
        seen.append(context)
        return f"x={parameters['x']}"

    assert key(CacheKeyFnPolicy(by_x), {"x": 4}) == "x=4"
    assert (seen[0].task, seen[0].run_id, seen[0].flow_parameters) == (add, "r1", {"day": "mon"})


def test_a_cache_key_fn_that_raises_names_the_task_and_the_function() -> None:
    def broken(context: CacheKeyContext, parameters: dict[str, Any]) -> str:
        raise KeyError("region")

    with pytest.raises(errors.CacheKeyError, match=r"task 'add'.*broken.*KeyError") as caught:
        key(CacheKeyFnPolicy(broken), {"x": 1})
    assert caught.value.task_name == "add"


def test_a_cache_key_fn_returning_a_non_string_is_refused() -> None:
    with pytest.raises(errors.CacheKeyError, match="returned a int, not a str or None"):
        key(CacheKeyFnPolicy(lambda context, parameters: 7), {"x": 1})  # type: ignore[arg-type,return-value]


_KEY_IN_A_NEW_PROCESS = textwrap.dedent(
    """
    import datetime as dt, sys
    sys.path.insert(0, ".")
    from tests.unit.test_cache_policies import add
    from tarry.cache_policies import INPUTS, TASK_SOURCE
    inputs = {"x": {"b", "a"}, "y": (1, dt.date(2024, 1, 2))}
    print((INPUTS + TASK_SOURCE).compute_key(add, inputs, {}))
    """
)


def test_a_key_is_the_same_in_another_process() -> None:
    inputs = {"x": {"b", "a"}, "y": (1, dt.date(2024, 1, 2))}
    here = (INPUTS + TASK_SOURCE).compute_key(add, inputs, {})
    there = [
        subprocess.run(
            [sys.executable, "-c", _KEY_IN_A_NEW_PROCESS],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=Path(__file__).parents[2],
        ).stdout.strip()
        for seed in ("1", "2")
    ]

    assert there == [here, here]


def test_task_refuses_caching_options_of_the_wrong_type() -> None:
    def fn() -> None: ...

    with pytest.raises(TypeError, match=r"task 'fn': cache_policy must be a policy"):
        task(cache_policy="INPUTS")(fn)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="cache_key_fn must be a function"):
        task(cache_key_fn="key")(fn)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"cache_expiration must be a datetime.timedelta.*60"):
        task(cache_expiration=60)(fn)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="cache_expiration must be longer than 0"):
        task(cache_expiration=dt.timedelta(0))(fn)
    with pytest.raises(TypeError, match="refresh_cache must be True or False"):
        task(refresh_cache="yes")(fn)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="cache_policy must be a policy"):
        add.with_options(cache_policy=3)


def test_with_options_sets_and_clears_caching() -> None:
    cached = add.with_options(cache_policy=INPUTS, cache_expiration=dt.timedelta(minutes=5))
    assert (cached.cache_policy, cached.cache_expiration) == (INPUTS, dt.timedelta(minutes=5))
    assert cached.with_options(refresh_cache=True).refresh_cache is True
    assert cached.with_options(cache_policy=NO_CACHE).cache_policy is None
    assert add.cache_policy is None  # no caching unless asked for


def test_cache_key_fn_takes_precedence_over_cache_policy() -> None:
    def fixed(context: CacheKeyContext, parameters: dict[str, Any]) -> str:
        return "fixed"

    both = add.with_options(cache_policy=INPUTS, cache_key_fn=fixed)

    assert both.cache_policy == CacheKeyFnPolicy(fixed)

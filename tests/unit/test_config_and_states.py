"""Settings from the environment, and the transition table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tarry import errors
from tarry.config import Settings
from tarry.states import FINAL_STATES, RETRYABLE, TRANSITIONS, RunState, check_transition


def test_defaults_put_the_database_under_dot_tarry() -> None:
    settings = Settings.from_env({})
    assert settings.resolved_database_url == "sqlite:///.tarry/tarry.db"
    assert settings.sqlite_synchronous == "FULL"


def test_environment_variables_are_read_and_parsed() -> None:
    settings = Settings.from_env(
        {"TARRY_HOME": "/srv/t", "TARRY_SQLITE_SYNCHRONOUS": "normal", "TARRY_LEASE_SECONDS": "5"}
    )
    assert settings.home == Path("/srv/t")
    assert settings.resolved_database_url == "sqlite:////srv/t/tarry.db"
    assert (settings.sqlite_synchronous, settings.lease_seconds) == ("NORMAL", 5.0)


def test_explicit_arguments_win_over_the_environment() -> None:
    settings = Settings.from_env(
        {"TARRY_DATABASE_URL": "sqlite:///a.db"}, database_url="sqlite:///b.db"
    )
    assert settings.resolved_database_url == "sqlite:///b.db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TARRY_LEASE_SECONDS": "soon"}, "TARRY_LEASE_SECONDS='soon' is not a valid float"),
        ({"TARRY_SQLITE_SYNCHRONOUS": "fast"}, "must be FULL, NORMAL, EXTRA or OFF"),
        ({"TARRY_LEASE_SECONDS": "0"}, "greater than 0"),
        ({"TARRY_EVENTS_RETENTION": "a week"}, "TARRY_EVENTS_RETENTION='a week' is not a dura"),
        ({"TARRY_EVENTS_RETENTION": "-1d"}, "is not a duration"),
    ],
)
def test_bad_settings_say_which_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("raw", "seconds"), [("3600", 3600.0), ("90s", 90.0), ("30m", 1800.0), ("12h", 43200.0),
                         ("7d", 604800.0), ("0", 0.0)]
)  # fmt: skip
def test_events_retention_is_seconds_or_a_duration(raw: str, seconds: float) -> None:
    assert Settings.from_env({"TARRY_EVENTS_RETENTION": raw}).events_retention == seconds
    assert Settings.from_env({}).events_retention == 7 * 86400


def test_final_states_have_no_way_out_but_a_retry() -> None:
    for state in FINAL_STATES:
        assert TRANSITIONS[state] == (
            frozenset({RunState.PENDING}) if state in RETRYABLE else frozenset()
        )
    assert {RunState.FAILED, RunState.CRASHED} == RETRYABLE
    with pytest.raises(errors.InvalidTransition, match="cannot go from Completed to Running"):
        check_transition("r1", RunState.COMPLETED, RunState.RUNNING)


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(RunState)

"""A run's log line longer than `TARRY_MAX_LOG_LINE_CHARS` is stored cut, with a marker.

Logging never fails a flow: a huge `print` (with `log_prints`) or `get_run_logger()`
line is kept up to the limit and ends saying how many characters were cut.
"""

from __future__ import annotations

import pytest

from tarry import config, errors, flow, get_run_logger, task
from tarry.testing import tarry_test_harness


@flow(log_prints=True)
def chatty(size: int) -> str:
    print("x" * size)
    get_run_logger().info("short and whole")
    return "done"


@task
def noisy_step(size: int) -> int:
    get_run_logger().warning("y" * size)
    return size


@flow
def noisy(size: int) -> int:
    return noisy_step(size)


def test_a_long_print_is_cut_at_the_default_limit_and_the_flow_completes() -> None:
    with tarry_test_harness() as harness:
        run = harness.start(chatty, 20_000)
        assert run.result() == "done"

        lines = harness.handle(run.id).logs()
    [long_line] = [line for line in lines if line.startswith("x")]
    assert long_line == "x" * 16_384 + "… [log line truncated: 3,616 more characters]"
    assert "short and whole" in lines


def test_a_logger_line_in_a_task_is_cut_at_the_set_limit() -> None:
    with tarry_test_harness(max_log_line_chars=100) as harness:
        run = harness.start(noisy, 1_000_100)
        assert run.result() == 1_000_100

        lines = harness.handle(run.id).logs()
    [long_line] = [line for line in lines if line.startswith("y")]
    assert long_line == "y" * 100 + "… [log line truncated: 1,000,000 more characters]"


def test_a_line_at_the_limit_is_kept_whole() -> None:
    with tarry_test_harness(max_log_line_chars=50) as harness:
        run = harness.start(chatty, 50)
        run.result()
        assert "x" * 50 in harness.handle(run.id).logs()


def test_the_limit_is_a_setting_of_at_least_one_character() -> None:
    assert config.Settings.from_env({"TARRY_MAX_LOG_LINE_CHARS": "4096"}).max_log_line_chars == 4096
    with pytest.raises(errors.ConfigurationError, match="TARRY_MAX_LOG_LINE_CHARS"):
        config.Settings.from_env({"TARRY_MAX_LOG_LINE_CHARS": "0"})

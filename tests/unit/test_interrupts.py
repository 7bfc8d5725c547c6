"""`tarry.interrupts`: a timed call is stopped where it is, never inside a shield."""

from __future__ import annotations

import threading
import time

import pytest

from tarry import errors, interrupts

SLACK = 5.0


def _spin(seconds: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


def _noop() -> None:
    pass


def test_a_spinning_call_is_interrupted_and_says_where() -> None:
    def body() -> None:
        while True:  # spins
            pass

    call = interrupts.Interruptible(body, "tarry-test-spin")
    call.start()
    assert not call.wait(0.1)
    assert call.stop(SLACK)
    with pytest.raises(errors.TimeoutInterrupt):
        call.result()
    assert call.interrupted
    assert interrupts.describe(call, stopped=True).startswith(f"; stopped at {__file__}:")


def test_an_interrupt_due_inside_a_shield_is_raised_when_the_shield_ends() -> None:
    done: list[str] = []

    def body() -> None:
        with interrupts.shielded():
            _spin(0.4)  # the deadline passes in here
            done.append("shielded work")
        done.append("after the shield")

    call = interrupts.Interruptible(body, "tarry-test-shield")
    call.start()
    time.sleep(0.1)
    assert not call.stop(0.05)  # held back: the shield is still up
    assert call.wait(SLACK)
    with pytest.raises(errors.TimeoutInterrupt):
        call.result()
    assert done == ["shielded work"]


def test_nested_shields_hold_the_interrupt_until_the_outermost_ends() -> None:
    done: list[str] = []

    def body() -> None:
        with interrupts.shielded():
            with interrupts.shielded():
                _spin(0.3)
            done.append("between")
            _spin(0.1)
        done.append("after")

    call = interrupts.Interruptible(body, "tarry-test-nested")
    call.start()
    time.sleep(0.1)
    call.interrupt()
    assert call.wait(SLACK)
    assert done == ["between"]


def test_an_interrupt_set_just_before_a_shield_is_withdrawn_and_raised_after_it() -> None:
    # Many short shields back to back: whenever the interrupt falls, the shielded
    # pair of appends is never split (unshielded, about one in five is: the calls
    # between them are where an interrupt lands).
    for _ in range(50):
        pairs: list[int] = []

        def body(pairs: list[int] = pairs) -> None:
            while True:
                with interrupts.shielded():
                    pairs.append(1)
                    _noop()
                    _noop()
                    pairs.append(2)

        call = interrupts.Interruptible(body, "tarry-test-pairs")
        call.start()
        time.sleep(0.01)
        assert call.stop(SLACK)
        assert len(pairs) % 2 == 0
        assert pairs[-2:] == [1, 2]


def test_a_call_that_ends_in_time_keeps_its_value_and_is_not_interrupted_later() -> None:
    call = interrupts.Interruptible(lambda: 42, "tarry-test-quick")
    call.start()
    assert call.wait(SLACK)
    call.interrupt()  # too late: a no-op
    assert call.result() == 42
    assert not call.interrupted


def test_a_call_blocked_in_c_is_abandoned_and_stops_when_it_returns() -> None:
    release = threading.Event()
    after: list[str] = []

    def body() -> None:
        release.wait()  # blocked on a lock, in C
        after.append("ran on")

    call = interrupts.Interruptible(body, "tarry-test-blocked")
    call.start()
    assert not call.stop(0.2)
    assert "blocked outside Python" in interrupts.describe(call, stopped=False)
    release.set()
    assert call.wait(SLACK)
    with pytest.raises(errors.TimeoutInterrupt):
        call.result()
    assert after == []


def test_a_waiting_thread_of_tarry_is_woken_by_its_interrupt() -> None:
    # The outer call waits (in C) for an inner one; interrupted, it stops at once and
    # takes the inner call down with it.
    inner_stopped = threading.Event()

    def inner() -> None:
        try:
            while True:
                pass
        finally:
            inner_stopped.set()

    def outer() -> None:
        call = interrupts.Interruptible(inner, "tarry-test-inner")
        call.start()
        try:
            call.wait(60)
        except BaseException:
            call.interrupt()
            raise

    call = interrupts.Interruptible(outer, "tarry-test-outer")
    call.start()
    time.sleep(0.1)
    assert call.stop(SLACK)
    assert inner_stopped.wait(SLACK)


def test_a_shield_outside_any_timed_call_does_nothing() -> None:
    with interrupts.shielded():
        value = 1
    assert value == 1

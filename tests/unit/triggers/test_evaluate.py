"""Trigger evaluation: what fires, when, and once; the same after a rebuild at every step."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tarry.triggers import models, parse
from tarry.triggers.event import Event
from tests.unit.test_trigger_models import SEED_COMPOUND
from tests.unit.triggers.harness import Harness, event, flow, run_event

WRITE = "tarry.block.remote-file-system.write_path.called"
HOUR = 3600.0


def _s(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=seconds)


def _expecting(*names: str) -> list[models.TriggerTypes]:
    return [models.EventTrigger(expect={name}) for name in names]


@pytest.fixture(params=[False, True], ids=["kept", "rebuilt"])
def rebuild(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _export(flow_name: str, at: float) -> Event:
    return event(WRITE, at, related=[flow(flow_name)])


def _seed(rebuild: bool) -> Harness:
    return Harness({"a1": parse.parse_trigger(SEED_COMPOUND)}, rebuild=rebuild)


def test_the_seed_compound_fires_once_when_both_exports_happen_within_the_hour(
    rebuild: bool,
) -> None:
    harness = _seed(rebuild)
    assert harness.feed(_export("daily-revenue-export", 100.0)) == []
    fired = harness.feed(_export("daily-customer-export", 1900.0))
    assert [(f.automation_id, f.kind, f.at) for f in fired] == [("a1", "triggered", 1900.0)]
    assert fired[0].event is not None
    assert fired[0].event.related[0]["tarry.resource.name"] == "daily-customer-export"
    # The set is spent: one more export alone fires nothing.
    assert harness.feed(_export("daily-revenue-export", 2000.0)) == []
    assert harness.states, "the second round is under way"


def test_the_seed_compound_does_not_fire_with_one_export_missing_or_late(rebuild: bool) -> None:
    harness = _seed(rebuild)
    harness.feed(_export("daily-customer-export", 0.0), _export("daily-customer-export", 50.0))
    assert harness.feed(_export("daily-revenue-export", 50.0 + HOUR + 1)) == []
    assert harness.feed(_export("someone-else", 60.0 + HOUR)) == []
    assert harness.firings == []


def test_an_export_left_alone_is_dropped_when_its_hour_ends(rebuild: bool) -> None:
    harness = _seed(rebuild)
    harness.feed(_export("daily-customer-export", 0.0))
    assert harness.timers
    assert harness.tick(HOUR + 1) == []
    assert harness.states == {}
    assert harness.timers == {}


@settings(max_examples=60, deadline=None)
@given(
    order=st.permutations([0, 1, 2]),
    gaps=st.lists(st.floats(0, 3000), min_size=3, max_size=3),
    rebuild=st.booleans(),
)
def test_a_compound_of_three_fires_once_in_any_order_within_its_window(
    order: list[int], gaps: list[float], rebuild: bool
) -> None:
    trigger = models.CompoundTrigger(
        require="all",
        within=_s(HOUR),
        triggers=_expecting("e.0", "e.1", "e.2"),
    )
    harness = Harness({"a": trigger}, rebuild=rebuild)
    at = 0.0
    for index, gap in zip(order, gaps, strict=True):
        at += gap
        harness.feed(event(f"e.{index}", at))
    within = at - gaps[0] <= HOUR
    assert len(harness.firings) == (1 if within else 0)


@settings(max_examples=60, deadline=None)
@given(order=st.permutations([0, 1, 2]), rebuild=st.booleans())
def test_a_sequence_fires_only_in_its_order(order: list[int], rebuild: bool) -> None:
    trigger = models.SequenceTrigger(
        within=_s(600), triggers=_expecting("step.0", "step.1", "step.2")
    )
    harness = Harness({"s": trigger}, rebuild=rebuild)
    for at, index in enumerate(order):
        harness.feed(event(f"step.{index}", float(at)))
    assert len(harness.firings) == (1 if order == [0, 1, 2] else 0)


def test_a_sequence_out_of_order_fires_once_the_order_is_complete(rebuild: bool) -> None:
    trigger = models.SequenceTrigger(triggers=_expecting("a", "b"))
    harness = Harness({"s": trigger}, rebuild=rebuild)
    assert harness.feed(event("b", 1.0), event("a", 2.0)) == []
    assert len(harness.feed(event("b", 3.0))) == 1


def test_compound_require_any_and_a_number(rebuild: bool) -> None:
    children = _expecting("e.0", "e.1", "e.2")
    harness = Harness(
        {
            "any": models.CompoundTrigger(require="any", triggers=children),
            "two": models.CompoundTrigger(require=2, triggers=children),
        },
        rebuild=rebuild,
    )
    assert [f.automation_id for f in harness.feed(event("e.2", 1.0))] == ["any"]
    assert [f.automation_id for f in harness.feed(event("e.0", 2.0))] == ["any", "two"]


def test_reactive_threshold_within_a_window_fires_once_per_window(rebuild: bool) -> None:
    trigger = models.EventTrigger(expect={"tarry.flow-run.Failed"}, threshold=3, within=_s(60))
    harness = Harness({"r": trigger}, rebuild=rebuild)
    failed = [run_event("Failed", f"r{i}", "etl", at) for i, at in enumerate([0, 10, 20, 30, 40])]
    fired = harness.feed(*failed)
    assert [f.at for f in fired] == [20.0]
    assert fired[0].context["count"] == 3
    # As Prefect: the next window starts where the one that fired ends (at 60 s), so
    # the events at 30 and 40 s counted for nothing, and three more within it fire again.
    later = [event("tarry.flow-run.Failed", at) for at in (70.0, 80.0, 90.0, 100.0)]
    assert [f.at for f in harness.feed(*later)] == [90.0]


def test_reactive_events_spread_wider_than_the_window_never_fire(rebuild: bool) -> None:
    trigger = models.EventTrigger(expect={"x"}, threshold=2, within=_s(30))
    harness = Harness({"r": trigger}, rebuild=rebuild)
    for at in (0.0, 100.0, 200.0, 300.0):
        harness.feed(event("x", at))
        harness.tick(at + 50)
    assert harness.firings == []
    assert harness.states == {}


def test_reactive_with_no_window_fires_every_threshold_events(rebuild: bool) -> None:
    harness = Harness({"r": models.EventTrigger(expect={"x"}, threshold=2)}, rebuild=rebuild)
    fired = harness.feed(*[event("x", at * 1000.0) for at in range(5)])
    assert [f.at for f in fired] == [1000.0, 3000.0]


def test_for_each_keeps_a_count_per_value(rebuild: bool) -> None:
    trigger = models.EventTrigger(
        expect={"prefect.flow-run.Failed"},
        for_each={"related:flow:prefect.resource.name"},
        threshold=2,
        within=_s(300),
    )
    harness = Harness({"r": trigger}, rebuild=rebuild)
    assert harness.feed(run_event("Failed", "1", "etl", 0), run_event("Failed", "2", "ml", 1)) == []
    fired = harness.feed(run_event("Failed", "3", "ml", 2))
    assert len(fired) == 1
    assert fired[0].context["labels"] == {"related:flow:tarry.resource.name": "ml"}
    assert fired[0].key.endswith('|["ml"]')


def test_reactive_after_counts_only_once_armed(rebuild: bool) -> None:
    trigger = models.EventTrigger(after={"deploy"}, expect={"error"}, threshold=1, within=_s(60))
    harness = Harness({"r": trigger}, rebuild=rebuild)
    assert harness.feed(event("error", 0.0)) == []
    assert harness.feed(event("deploy", 10.0)) == []
    assert len(harness.feed(event("error", 20.0))) == 1
    assert harness.feed(event("error", 30.0)) == []


def test_match_and_match_related_pick_the_events(rebuild: bool) -> None:
    trigger = models.EventTrigger(
        expect={"tarry.flow-run.*"},
        match=models.ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
        match_related=[
            models.ResourceSpecification(
                {"tarry.resource.role": "flow", "tarry.resource.name": ["a", "b*"]}
            )
        ],
    )
    harness = Harness({"r": trigger}, rebuild=rebuild)
    assert harness.feed(run_event("Failed", "1", "c", 0)) == []
    assert harness.feed(event("tarry.flow-run.Failed", 1, related=[flow("a")])) == []
    assert len(harness.feed(run_event("Completed", "2", "bravo", 2))) == 1


def _unanswered(rebuild: bool) -> Harness:
    trigger = models.EventTrigger(
        posture="Proactive",
        after={"prefect.input.requested"},
        expect={"prefect.input.answered"},
        for_each={"prefect.resource.id"},
        threshold=1,
        within=_s(4 * HOUR),
    )
    return Harness({"p": trigger}, rebuild=rebuild)


def _wait(name: str, wait_id: str, at: float) -> Event:
    return event(
        name, at, {"tarry.resource.id": f"tarry.input.{wait_id}"}, payload={"wait": wait_id}
    )


def test_proactive_fires_once_when_nothing_comes_within_the_window(rebuild: bool) -> None:
    harness = _unanswered(rebuild)
    harness.feed(_wait("tarry.input.requested", "w1", 0.0))
    assert list(harness.timers.values()) == [4 * HOUR]
    assert harness.tick(4 * HOUR - 1) == []
    fired = harness.tick(4 * HOUR)
    assert len(fired) == 1
    assert fired[0].event is not None
    assert fired[0].event.event == "tarry.input.requested"
    assert harness.tick(9 * HOUR) == []
    assert harness.states == {}
    assert harness.timers == {}


def test_proactive_does_not_fire_when_the_expected_event_comes(rebuild: bool) -> None:
    harness = _unanswered(rebuild)
    harness.feed(
        _wait("tarry.input.requested", "w1", 0.0), _wait("tarry.input.requested", "w2", 5.0)
    )
    harness.feed(_wait("tarry.input.answered", "w1", HOUR))
    fired = harness.tick(5 * HOUR)
    assert [f.context["labels"]["tarry.resource.id"] for f in fired] == ["tarry.input.w2"]


def test_proactive_judged_by_a_late_event_fires_as_the_timer_would(rebuild: bool) -> None:
    harness = _unanswered(rebuild)
    harness.feed(_wait("tarry.input.requested", "w1", 0.0))
    assert len(harness.feed(_wait("tarry.input.answered", "w1", 5 * HOUR))) == 1


def test_proactive_without_after_fires_each_silent_window(rebuild: bool) -> None:
    trigger = models.EventTrigger(posture="Proactive", expect={"heartbeat"}, within=_s(60))
    harness = Harness({"p": trigger}, rebuild=rebuild)
    harness.feed(event("heartbeat", 0.0))
    assert harness.tick(60.0) == []  # one heartbeat in the first window: enough
    assert len(harness.tick(120.0)) == 1
    harness.feed(event("heartbeat", 130.0))
    assert harness.tick(180.0) == []


def _training(rebuild: bool, firing_for: float = 60) -> Harness:
    trigger = parse.parse_trigger(
        {
            "type": "metric",
            "metric": {
                "name": "successes",
                "threshold": 0.7,
                "operator": "<",
                "range": 600,
                "firing_for": firing_for,
            },
            "match_related": {
                "prefect.resource.role": "flow",
                "prefect.resource.name": ["train-model", "validation-flow"],
            },
        }
    )
    return Harness({"m": trigger}, rebuild=rebuild)


def _runs(harness: Harness, outcomes: str, start: float, flow_name: str = "train-model") -> None:
    for i, outcome in enumerate(outcomes):
        run_id = f"{flow_name}-{start}-{i}"
        harness.feed(run_event("Running", run_id, flow_name, start + i))
        state = "Completed" if outcome == "C" else "Failed"
        harness.feed(run_event(state, run_id, flow_name, start + i + 0.5))


def test_a_metric_breach_held_a_minute_fires_once_then_resolves(rebuild: bool) -> None:
    harness = _training(rebuild)
    _runs(harness, "CFCFFCFCFF", 0.0)  # 4 of 10 completed: 40 %
    _runs(harness, "FFFF", 0.0, flow_name="other-flow")  # not watched
    ticks = {at: harness.tick(at) for at in range(60, 600, 60)}
    fired = [f for found in ticks.values() for f in found]
    assert [(f.kind, f.at) for f in fired] == [("triggered", 120.0)]
    metric = fired[0].context["metric"]
    assert metric["value"] == pytest.approx(0.4)
    assert metric["samples"] == 10
    assert fired[0].event is not None
    assert fired[0].event.related[0]["tarry.resource.name"] == "train-model"
    # Twenty good runs bring it to 80 %: after a minute of that, it resolves once.
    _runs(harness, "C" * 20, 600.0, flow_name="validation-flow")
    later = [f for at in range(660, 900, 60) for f in harness.tick(float(at))]
    assert [(f.kind, f.at) for f in later] == [("resolved", 720.0)]


def test_a_brief_metric_dip_does_not_fire(rebuild: bool) -> None:
    harness = _training(rebuild, firing_for=300)
    _runs(harness, "FF", 0.0)
    assert harness.tick(60.0) == []
    _runs(harness, "C" * 10, 100.0)
    assert [f for at in range(120, 1200, 60) for f in harness.tick(float(at))] == []
    assert harness.states == {}
    assert harness.timers == {}


def test_duration_and_lateness_are_measured_from_run_events(rebuild: bool) -> None:
    duration = models.MetricTrigger(
        metric=models.MetricTriggerQuery(
            name="duration", threshold=100, operator=">", firing_for=_s(0)
        )
    )
    lateness = models.MetricTrigger(
        metric=models.MetricTriggerQuery(
            name="lateness", threshold=30, operator=">=", firing_for=_s(0)
        )
    )
    harness = Harness({"d": duration, "l": lateness}, rebuild=rebuild)
    harness.feed(run_event("Pending", "r1", "etl", 0.0), run_event("Running", "r1", "etl", 40.0))
    harness.feed(run_event("Completed", "r1", "etl", 200.0))
    fired = harness.tick(240.0)
    values = {f.automation_id: f.context["metric"]["value"] for f in fired}
    assert values == {"d": 160.0, "l": 40.0}


def test_a_changed_trigger_starts_afresh_and_a_removed_one_is_forgotten() -> None:
    harness = Harness({"r": models.EventTrigger(expect={"x"}, threshold=2)}, rebuild=False)
    harness.feed(event("x", 0.0))
    assert harness.states
    changed = harness.evaluator.set_automations(
        {"r": models.EventTrigger(expect={"x"}, threshold=3)}
    )
    assert changed.delete_states == list(harness.states)
    harness = Harness({"p": models.EventTrigger(posture="Proactive", expect={"x"})}, rebuild=False)
    harness.feed(event("x", 0.0))
    gone = harness.evaluator.set_automations({})
    assert gone.delete_timers == list(harness.timers)
    assert harness.evaluator.next_due() is None


def test_the_same_events_name_the_same_firings() -> None:
    runs = [event("x", float(at)) for at in range(4)]
    ids = []
    for _ in range(2):
        harness = Harness({"r": models.EventTrigger(expect={"x"})}, rebuild=False)
        ids.append([f.id for f in harness.feed(*runs)])
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 4


def test_successes_count_only_ended_runs(rebuild: bool) -> None:
    harness = _training(rebuild, firing_for=0)
    for state in ("Pending", "Running", "Completed"):
        harness.feed(run_event(state, "r1", "train-model", 1.0))
    harness.feed(run_event("Pending", "r2", "train-model", 2.0))
    harness.feed(run_event("Running", "r2", "train-model", 20.0))
    harness.feed(run_event("Cancelled", "r2", "train-model", 21.0))
    harness.feed(run_event("Failed", "r3", "train-model", 22.0))
    assert harness.timers
    assert list(harness.timers.values()) == [61.0]  # the first check: a minute after the first run
    fired = harness.tick(61.0)
    assert [f.context["metric"]["value"] for f in fired] == [0.5]
    assert fired[0].context["metric"]["samples"] == 2


_MIXED = {
    "reactive": {
        "expect": ["a", "b"],
        "threshold": 2,
        "within": 30,
        "for_each": ["prefect.resource.id"],
    },
    "proactive": {"posture": "Proactive", "after": ["a"], "expect": ["b"], "within": 20},
    "compound": {
        "type": "compound",
        "require": 2,
        "within": 40,
        "triggers": [{"expect": ["a"]}, {"expect": ["c"]}, {"expect": ["tarry.flow-run.Failed"]}],
    },
    "sequence": {
        "type": "sequence",
        "within": 60,
        "triggers": [{"expect": ["b"]}, {"expect": ["c"]}],
    },
    "metric": {
        "posture": "Metric",
        "metric": {
            "name": "successes",
            "threshold": 0.5,
            "operator": "<",
            "range": 300,
            "firing_for": 10,
        },
    },
}


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(
                ["a", "b", "c", "tarry.flow-run.Completed", "tarry.flow-run.Failed", "tick"]
            ),
            st.floats(0, 15),
            st.sampled_from(["x", "y"]),
        ),
        max_size=40,
    )
)
def test_a_rebuild_at_every_step_fires_exactly_as_an_evaluator_kept_in_memory(
    steps: list[tuple[str, float, str]],
) -> None:
    automations = {name: parse.parse_trigger(doc) for name, doc in _MIXED.items()}
    kept, rebuilt = (Harness(automations, rebuild=flag) for flag in (False, True))
    at = 1000.0
    for name, gap, thing in steps:
        at += gap
        seen = event(name, at, {"tarry.resource.id": f"thing.{thing}"}, [flow("f")])
        for harness in (kept, rebuilt):
            if name == "tick":
                harness.tick(at)
            else:
                harness.feed(seen)
    assert [(f.id, f.kind, f.at) for f in rebuilt.firings] == [
        (f.id, f.kind, f.at) for f in kept.firings
    ]
    assert rebuilt.states == kept.states
    assert rebuilt.timers == kept.timers

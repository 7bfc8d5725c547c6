"""Webhook templates: a request rendered into an event, and templates refused when made."""

from __future__ import annotations

import json

import pytest

from tarry.triggers import webhooks

PUSH = """{
  "event": "github.{{ headers['x-github-event'] }}",
  "id": "{{ headers['x-github-delivery'] }}",
  "resource": {
    "prefect.resource.id": "github.repo.{{ body.repository.full_name }}",
    "prefect.resource.name": "{{ body.repository.name }}"
  },
  "related": [{"tarry.resource.id": "github.user.{{ body.pusher.name }}",
               "tarry.resource.role": "pusher"}],
  "payload": {"ref": {{ body.ref | tojson }}, "commits": {{ body.commits | length }}}
}"""


def request(body: object, **headers: str) -> webhooks.WebhookRequest:
    raw = json.dumps(body)
    parsed, text = webhooks.parse_body(raw.encode(), "application/json")
    return webhooks.WebhookRequest(parsed, headers, {}, text)


def push_body() -> dict[str, object]:
    return {
        "ref": "refs/heads/main",
        "repository": {"full_name": "acme/shop", "name": "shop"},
        "pusher": {"name": "ada"},
        "commits": [{"id": "1"}, {"id": "2"}],
    }


def test_a_push_body_becomes_a_tarry_event_with_prefect_names_mapped() -> None:
    headers = {"x-github-event": "push", "x-github-delivery": "d-1"}

    made = webhooks.render(PUSH, request(push_body(), **headers))

    assert made.event == "github.push"
    assert made.id == "d-1"
    assert made.resource == {
        "tarry.resource.id": "github.repo.acme/shop",
        "tarry.resource.name": "shop",
    }
    assert made.related == (
        {"tarry.resource.id": "github.user.ada", "tarry.resource.role": "pusher"},
    )
    assert json.loads(made.payload) == {"ref": "refs/heads/main", "commits": 2}


def test_prefect_event_names_and_resource_ids_read_as_tarry() -> None:
    template = (
        '{"event": "prefect.custom", "resource": {"prefect.resource.id": "prefect.flow-run.{{'
        ' body.run }}"}}'
    )

    made = webhooks.render(template, request({"run": "abc"}))

    assert (made.event, made.resource) == (
        "tarry.custom",
        {"tarry.resource.id": "tarry.flow-run.abc"},
    )


def test_a_form_body_gives_its_fields_and_query_fields_are_read() -> None:
    body, text = webhooks.parse_body(b"answer=yes&tag=a&tag=b", "application/x-www-form-urlencoded")
    template = (
        '{"event": "form.{{ body.answer }}", "resource": {"tarry.resource.id": "q.{{ query.k }}"},'
        ' "payload": {"tags": {{ body.tag | tojson }}}}'
    )

    made = webhooks.render(template, webhooks.WebhookRequest(body, {}, {"k": "7"}, text))

    assert made.event == "form.yes"
    assert made.resource["tarry.resource.id"] == "q.7"
    assert json.loads(made.payload) == {"tags": ["a", "b"]}


def test_a_text_body_is_its_text_and_occurred_reads_iso_and_epoch() -> None:
    body, text = webhooks.parse_body(b"hello there", "text/plain")
    iso = (
        '{"event": "t", "resource": {"tarry.resource.id": "{{ body }}"},'
        ' "occurred": "1970-01-01T00:01:00Z"}'
    )

    made = webhooks.render(iso, webhooks.WebhookRequest(body, {}, {}, text))

    assert made.resource["tarry.resource.id"] == "hello there"
    assert made.occurred == 60.0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"repository": {"name": "shop"}}, "has no attribute 'full_name'"),
        ({"ref": "x"}, "'repository'"),
    ],
)
def test_a_body_that_does_not_fit_is_refused_with_the_reason(body: object, reason: str) -> None:
    headers = {"x-github-event": "push", "x-github-delivery": "d"}

    with pytest.raises(ValueError, match=reason):
        webhooks.render(PUSH, request(body, **headers))


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ('{"event": "a", "resource": {"tarry.resource.id": "{{ body.id }}"}}', "tarry.resource.id"),
        ('{"event": "{{ body.kind }}", "resource": {"tarry.resource.id": "x"}}', "needs `event`"),
    ],
)
def test_a_rendered_event_without_a_name_or_resource_id_is_refused(
    template: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        webhooks.render(template, request({"id": "", "kind": ""}))


def test_a_json_body_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        webhooks.parse_body(b"{nope", "application/json")
    with pytest.raises(ValueError, match="not UTF-8"):
        webhooks.parse_body(b"\xff", "text/plain")


def test_a_good_template_passes_the_check_with_a_sample_request() -> None:
    made = webhooks.check(PUSH)

    assert made.event == "github.0"
    assert made.resource["tarry.resource.id"] == "github.repo.0"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ('{"event": "a", "resource": {{ body.x }', "does not compile"),
        ("not json at all", "not JSON"),
        ('["event"]', "not a JSON object"),
        ('{"event": "a"}', "`resource` must be an object"),
        ('{"event": "a", "resource": {"tarry.resource.name": "n"}}', "tarry.resource.id"),
        ('{"resource": {"tarry.resource.id": "r"}}', "needs `event`"),
        ('{"event": "a", "resource": {"tarry.resource.id": "r"}, "colour": 1}', "unknown fields"),
        ('{"event": "a", "resource": {"tarry.resource.id": "r"}, "payload": [1]}', "`payload`"),
        (
            '{"event": "a", "resource": {"tarry.resource.id": "r"}, '
            '"related": [{"tarry.resource.id": "x"}]}',
            "tarry.resource.role",
        ),
    ],
)
def test_a_bad_template_is_refused_when_checked(template: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        webhooks.check(template)


def test_an_unsafe_template_is_refused_at_request_time_by_the_sandbox() -> None:
    template = '{"event": "a", "resource": {"tarry.resource.id": "{{ ().__class__ }}"}}'

    with pytest.raises(ValueError, match="unsafe"):
        webhooks.render(template, request({}))

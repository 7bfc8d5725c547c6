"""What a notification about a new question says, and its links.

A `Notice` is built once when the wait opens, for one recipient (links name whom
they were sent to), and rendered as a mail or as a Slack-compatible webhook body.
Every link goes to a page that shows the question and asks for a confirm: nothing
is decided by merely opening a link.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from typing import Any

from tarry.config import Settings
from tarry.forms import choices as choices_module
from tarry.forms import decisions, headings
from tarry.outbound import tokens
from tarry.safe_markdown import render_markdown
from tarry.storage import records

__all__ = ["Notice", "OptionLink", "build_notice", "link_url", "mail_body", "slack_body"]


@dataclasses.dataclass(frozen=True)
class OptionLink:
    """A one-click option: its label and its link."""

    label: str
    url: str


@dataclasses.dataclass(frozen=True)
class Notice:
    """A question, as told to one recipient."""

    run_id: str
    wait_id: str
    flow_name: str
    run_name: str
    question: str
    """A short title: the question's heading (`tarry.forms.headings`)."""
    prompt: str
    """The input's markdown description (may be empty)."""
    form_url: str
    """The answer form, reachable without login through a signed link."""
    options: tuple[OptionLink, ...]
    options_answer: bool
    """Whether an option alone answers (else it opens the form pre-filled)."""
    deadline: float | None
    reply_hint: str
    """How to answer by replying to the mail."""

    @property
    def subject(self) -> str:
        """The mail subject."""
        return f"[tarry] {self.flow_name}: {self.question}"


def link_url(settings: Settings, token: str) -> str:
    """The public address of an answer link."""
    return f"{settings.resolved_public_url}/l/{token}"


def build_notice(
    settings: Settings,
    run: records.RunRecord,
    wait: records.WaitRecord,
    spec: dict[str, Any] | None,
    *,
    responder: str | None,
    now: float,
) -> Notice:
    """The notice of `wait` for `responder` (`None`: anyone who gets it, e.g. a channel)."""
    key = tokens.secret_key(settings)
    expires = wait.deadline if wait.deadline is not None else now + settings.link_max_age_seconds
    schema: dict[str, Any] = (spec or {}).get("schema") or {}
    approval = decisions.is_approval(spec or {}, decisions.Asked(wait.name, wait.label))
    found = choices_module.choices_of(schema, approval=approval)

    def url(decision: Any = tokens.NO_DECISION) -> str:
        claim = tokens.LinkClaim(wait.id, expires, decision=decision, responder=responder)
        return link_url(settings, tokens.sign_link(key, claim))

    options = tuple(OptionLink(c.label, url(c.answer)) for c in found.options) if found else ()
    return Notice(
        run_id=run.id,
        wait_id=wait.id,
        flow_name=run.flow_name,
        run_name=run.name,
        question=headings.heading(spec, name=wait.name, label=wait.label, flow_name=run.flow_name),
        prompt=headings.prose(spec) or "",
        form_url=url(),
        options=options,
        options_answer=bool(found and found.complete),
        deadline=wait.deadline,
        reply_hint=_reply_hint(schema, found),
    )


def _reply_hint(schema: dict[str, Any], found: choices_module.Choices | None) -> str:
    fields = list((schema.get("properties") or {}).keys())
    if found is not None and found.complete:
        labels = ", ".join(option.label for option in found.options)
        return f"Or reply to this mail with one of: {labels}."
    if fields == ["value"]:
        return "Or reply to this mail with your answer."
    if fields:
        return "Or reply to this mail with one line per field: " + ", ".join(
            f"{name}: ..." for name in fields
        )
    return "Or reply to this mail with the word OK to resume it."


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def mail_body(notice: Notice) -> tuple[str, str]:
    """The mail's plain-text and HTML bodies."""
    return _text(notice), _html(notice)


def _text(notice: Notice) -> str:
    lines = [f"Run {notice.run_name} of {notice.flow_name} is waiting for: {notice.question}", ""]
    if notice.prompt:
        lines += [notice.prompt, ""]
    verb = "Answer" if notice.options_answer else "Start your answer"
    lines += [f"{verb} {option.label}: {option.url}" for option in notice.options]
    lines += [f"Open the form: {notice.form_url}", "", notice.reply_hint]
    if notice.deadline is not None:
        lines += ["", f"The question closes at {_when(notice.deadline)}."]
    return "\n".join(lines) + "\n"


def _html(notice: Notice) -> str:
    esc = html.escape
    buttons = "".join(
        f'<a href="{esc(o.url)}" style="{_BUTTON}">{esc(o.label)}</a> ' for o in notice.options
    )
    closes = f"<p>The question closes at {_when(notice.deadline)}.</p>" if notice.deadline else ""
    return (
        f"<p>Run <b>{esc(notice.run_name)}</b> of <b>{esc(notice.flow_name)}</b> is waiting "
        f"for: <b>{esc(notice.question)}</b></p>{render_markdown(notice.prompt)}"
        f'<p>{buttons}</p><p><a href="{esc(notice.form_url)}">Open the form</a></p>'
        f"<p>{esc(notice.reply_hint)}</p>{closes}"
    )


_BUTTON = (
    "display:inline-block;padding:8px 16px;margin:0 8px 8px 0;border-radius:6px;"
    "background:#1f5f8b;color:#ffffff;text-decoration:none;font-weight:600"
)


def slack_body(notice: Notice) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body: text plus blocks with link buttons."""
    header = f"*{notice.flow_name}* (run {notice.run_name}) is waiting for: *{notice.question}*"
    buttons = [_slack_button(o.label, o.url) for o in notice.options]
    buttons.append(_slack_button("Open the form", notice.form_url))
    blocks: list[dict[str, Any]] = [_slack_section(header)]
    if notice.prompt:
        blocks.append(_slack_section(notice.prompt))
    blocks.append({"type": "actions", "elements": buttons})
    return {"text": f"{notice.subject}\n{notice.form_url}", "blocks": blocks}


def _slack_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _slack_button(label: str, url: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": label[:75]}, "url": url}

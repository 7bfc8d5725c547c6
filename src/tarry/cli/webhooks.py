"""`tarry webhook ...`: inbound webhooks that turn outside HTTP requests into events.

A webhook is a URL (`POST <api>/webhooks/<slug>`), a Jinja template that makes the
request an event, and a secret, printed once by `create` and `rotate-secret`. The
commands work on the store of this machine's settings, as `tarry gcl` does; the URL
printed is where this machine's `tarry server` serves it (`TARRY_API_URL`, or the
default address). See docs/webhooks.md.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from tarry import client_calls, host, webhook_service
from tarry.cli.output import AS_JSON, Yes, confirm_delete, fail, out, print_json
from tarry.cli.output import call as _call
from tarry.cli.output import said as _said
from tarry.storage import webhooks
from tarry.web import webhook_schemas

__all__ = ["app"]

app = typer.Typer(
    help="Make, list, enable, disable and delete inbound webhooks (requests become events).",
    no_args_is_help=True,
)

T = TypeVar("T")

Key = Annotated[str, typer.Argument(help="The webhook's name, slug or id")]


def _url(record: webhooks.WebhookRecord) -> str:
    return f"{client_calls.default_url(host.get_host().settings)}/webhooks/{record.slug}"


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _template(path: Path | None, text: str | None) -> str:
    if (path is None) == (text is None):
        raise fail("give the template once: --template FILE or --template-json TEXT")
    if text is not None:
        return text
    assert path is not None  # noqa: S101 (one of the two is given: checked above)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read the template {path}: {exc}") from None


def _secret_lines(record: webhooks.WebhookRecord) -> None:
    _said(f"url: {_url(record)}")
    _said(f"secret: {record.secret}")
    _said("the secret is not shown again: send it as X-Tarry-Webhook-Secret, or sign bodies")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The webhook's name (unique)")],
    *,
    template: Annotated[
        Path | None, typer.Option("--template", help="A file holding the Jinja template")
    ] = None,
    template_json: Annotated[
        str | None, typer.Option("--template-json", help="The template itself, as text")
    ] = None,
    slug: Annotated[
        str | None, typer.Option("--slug", help="The URL's last part (random when omitted)")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="What it is for")] = "",
    disable: Annotated[bool, typer.Option("--disable", help="Make it disabled")] = False,
) -> None:
    """Make a webhook; prints its URL and its secret, once."""
    text = _template(template, template_json)
    made = _call(
        lambda: webhook_service.create_webhook(
            name, text, slug=slug, description=description, enabled=not disable
        )
    )
    _said(f"created webhook {made.name} ({'enabled' if made.enabled else 'disabled'})")
    _secret_lines(made)


@app.command("ls")
def ls(as_json: Annotated[bool, AS_JSON] = False) -> None:
    """List webhooks by name (never their secrets)."""
    found = webhook_service.list_webhooks()
    if as_json:
        print_json([webhook_schemas.WebhookOut.of(w, _url(w)) for w in found])
        return
    table = Table("name", "slug", "enabled", "updated", "description")
    for record in found:
        table.add_row(
            Text(record.name),
            Text(record.slug),
            "yes" if record.enabled else "no",
            _when(record.updated_at),
            Text(record.description),
        )
    out.print(table)


@app.command("inspect")
def inspect(key: Key, as_json: Annotated[bool, AS_JSON] = False) -> None:
    """Show a webhook: its URL, whether it is enabled, and its template."""
    record = _call(lambda: webhook_service.get_webhook(key))
    if as_json:
        print_json(webhook_schemas.WebhookOut.of(record, _url(record)))
        return
    state = "enabled" if record.enabled else "disabled"
    _said(f"webhook {record.name} ({state}, id {record.id}, updated {_when(record.updated_at)})")
    _said(f"url: {_url(record)}")
    if record.description:
        _said(f"description: {record.description}")
    _said("template:")
    _said(record.template)


@app.command("rotate-secret")
def rotate_secret(key: Key) -> None:
    """Give a webhook a new secret (printed once); the old one stops working."""
    record = _call(lambda: webhook_service.rotate_secret(key))
    _said(f"rotated the secret of webhook {record.name}")
    _secret_lines(record)


@app.command("enable")
def enable(key: Key) -> None:
    """Enable a webhook: requests make events again."""
    record = _call(lambda: webhook_service.set_enabled(key, True))
    _said(f"enabled webhook {record.name}")


@app.command("disable")
def disable(key: Key) -> None:
    """Disable a webhook: requests are refused (409) and make no event."""
    record = _call(lambda: webhook_service.set_enabled(key, False))
    _said(f"disabled webhook {record.name}")


@app.command("delete")
def delete(key: Key, yes: Yes = False) -> None:
    """Delete a webhook (asks first in a terminal; --yes does not); its events stay."""
    record = _call(lambda: webhook_service.get_webhook(key))
    confirm_delete(f"Delete webhook {record.name} ({_url(record)})?", yes)
    _call(lambda: webhook_service.delete_webhook(record.id))
    _said(f"deleted webhook {record.name}")

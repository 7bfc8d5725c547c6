"""Webhook errors that `errors` has no room for; they join its tree under `TarryError`.

`errors` is at its size cap, so this private module holds them; each leaf is
reachable as `tarry._webhook_errors.X` and documented like the others. The REST
API answers each with its own status (`tarry.web.api`).
"""

from __future__ import annotations

from tarry import errors

__all__ = [
    "WebhookDisabled",
    "WebhookNotFound",
    "WebhookRefused",
    "WebhookSecretMissing",
    "WebhookSecretWrong",
    "WebhookTaken",
]


class WebhookNotFound(errors.NotFound):
    """No webhook has this id, slug or name."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no webhook with id, slug or name {key!r}; list them: tarry webhook ls")
        self.key = key


class WebhookTaken(errors.TarryError, ValueError):
    """Another webhook has this slug or name: both are unique."""

    def __init__(self, what: str, value: str) -> None:
        super().__init__(f"a webhook with {what} {value!r} exists; choose another {what}")
        self.what = what
        self.value = value


class WebhookRefused(errors.TarryError, ValueError):
    """A webhook's template, name or slug, or a request through it, is refused.

    A template must compile and make a valid event; a request must fit its template.
    Nothing was created, changed or stored; the message says why.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookSecretMissing(errors.TarryError):
    """The request carries neither the webhook's secret nor a signature of its body."""

    def __init__(self, slug: str) -> None:
        super().__init__(
            f"webhook {slug!r} needs its secret: send X-Tarry-Webhook-Secret, or sign the body"
            " with HMAC-SHA256 in X-Tarry-Webhook-Signature: sha256=<hex>"
        )
        self.slug = slug


class WebhookSecretWrong(errors.TarryError):
    """The request's secret or body signature is not the webhook's."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"the secret or signature sent to webhook {slug!r} is wrong")
        self.slug = slug


class WebhookDisabled(errors.TarryError):
    """The webhook is disabled: it turns no request into an event until enabled."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"webhook {slug!r} is disabled; enable it: tarry webhook enable {slug}")
        self.slug = slug

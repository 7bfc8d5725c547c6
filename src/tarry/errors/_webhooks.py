"""Inbound webhooks' errors: not found or taken, a template or request refused, a secret."""

from __future__ import annotations

from tarry.errors._core import NotFound, TarryError

__all__ = [
    "WebhookDisabled",
    "WebhookNotFound",
    "WebhookRefused",
    "WebhookSecretMissing",
    "WebhookSecretWrong",
    "WebhookTaken",
]


class WebhookNotFound(NotFound):
    """No webhook has this id, slug or name."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no webhook with id, slug or name {key!r}; list them: tarry webhook ls")
        self.key = key


class WebhookTaken(TarryError, ValueError):
    """Another webhook has this slug or name: both are unique."""

    def __init__(self, what: str, value: str) -> None:
        super().__init__(f"a webhook with {what} {value!r} exists; choose another {what}")
        self.what = what
        self.value = value


class WebhookRefused(TarryError, ValueError):
    """A webhook's template, name or slug, or a request through it, is refused.

    A template must compile and make a valid event; a request must fit its template.
    Nothing was created, changed or stored; the message says why.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookSecretMissing(TarryError):
    """The request carries neither the webhook's secret nor a signature of its body."""

    def __init__(self, slug: str) -> None:
        super().__init__(
            f"webhook {slug!r} needs its secret: send X-Tarry-Webhook-Secret, or sign the body"
            " with HMAC-SHA256 in X-Tarry-Webhook-Signature: sha256=<hex>"
        )
        self.slug = slug


class WebhookSecretWrong(TarryError):
    """The request's secret or body signature is not the webhook's."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"the secret or signature sent to webhook {slug!r} is wrong")
        self.slug = slug


class WebhookDisabled(TarryError):
    """The webhook is disabled: it turns no request into an event until enabled."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"webhook {slug!r} is disabled; enable it: tarry webhook enable {slug}")
        self.slug = slug

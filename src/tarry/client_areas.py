"""The clients' methods of each area of the API beyond runs, joined for both clients.

Each area keeps its methods in a module of its own (`client_pools`, `client_limits`,
`client_events`, `client_webhooks`, `client_automations`), sync and async over one
sans-IO core; this module only joins them, so a new area changes this list, not
`tarry.client`.
"""

from __future__ import annotations

from tarry import client_automations, client_events, client_limits, client_pools, client_webhooks

__all__ = ["AreaMethods", "AsyncAreaMethods"]


class AreaMethods(
    client_pools.WorkPoolMethods,
    client_limits.ConcurrencyLimitMethods,
    client_events.EventMethods,
    client_webhooks.WebhookMethods,
    client_automations.AutomationMethods,
):
    """The methods of `Client` beyond runs: work pools, limits, events, webhooks, automations."""


class AsyncAreaMethods(
    client_pools.AsyncWorkPoolMethods,
    client_limits.AsyncConcurrencyLimitMethods,
    client_events.AsyncEventMethods,
    client_webhooks.AsyncWebhookMethods,
    client_automations.AsyncAutomationMethods,
):
    """The methods of `AsyncClient` beyond runs, as `AreaMethods`."""

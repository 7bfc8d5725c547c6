"""Triggers and actions of automations: their models, and evaluation as pure code.

`models` and `actions` hold Prefect 3's shapes; `parse` reads documents into them;
`evaluate` decides, without I/O or a clock, which events fire which automations;
`templates` renders action fields. The runtime that stores and acts is
`tarry.automation_runtime`; the public face is `tarry.automations` and `tarry.events`.
"""

from __future__ import annotations

"""Durable execution: runs, their journal, steps, waits and messages (internal).

Nothing is imported from here by users; the public paths (`tarry.waits`,
`tarry.messaging`, `tarry.input`, ...) are faces that call down into these modules.
"""

"""What leaves: notices of questions, signed answer links, the outbox and its sender.

A wait's notices and a flow's mail are queued in the store's outbox, keyed so that a
replay queues nothing twice; this process's dispatcher sends them (over SMTP or as
webhook posts), retrying failures.
"""

"""Webhooks both ways.

Out (`outgoing`, `sender`): Nango's webhooks to the environment's URLs (a sync's result, a
connection event, an async action's completion, a provider webhook passed on), queued in the
store's outbox in the transaction of what they announce and sent by any worker process,
signed (`signing`), retried with backoff.

In (`incoming`): `POST /webhook/:environment/:integration` from a provider, its signature
checked where the provider signs, routed to the syncs subscribed to its type as `webhook` runs.
"""

"""Live: domain events (an outbox), notifications, server-sent events, feeds, group bots and
the requests board."""

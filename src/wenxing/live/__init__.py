"""Live: domain events (an outbox), notifications, server-sent events, feeds, group bots, and
telling what the requests board (``wenxing.requests``) raises."""

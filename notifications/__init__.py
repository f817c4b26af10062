"""Notifications: an in-app message centre (站内消息), e-mail over SMTP and webhooks (generic,
企业微信 and 钉钉 group robots), written to an outbox in the transaction of the state change that
causes them and delivered by a worker (`flask --app server notify-worker`).

- `models`: the outbox, dedupe keys, webhooks, preferences, scan marks;
- `service`: `enqueue` inside the caller's session, digests written at commit;
- `observer`: the engine's steps (task opened, escalated) as notifications, for every process;
- `channels` / `texts`: e-mail and webhook messages and how they are sent;
- `worker` / `scanners`: delivery with retries and dead letters; due-soon and overdue notices;
- `inbox`, `settings`, `webhooks`, `outbox`: what the API and the pages read and write.

Nothing registers on import: the app factory, the CLI and the tests call `register()`.
"""

from __future__ import annotations

from workflows import plugins


def register(registry: plugins.Registry = plugins.REGISTRY) -> None:
    """Hear of every process's steps and write the outbox at commit (idempotent)."""
    from . import service
    from .observer import NotificationHooks

    service.install()
    registry.observe("notifications", NotificationHooks())

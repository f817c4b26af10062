"""The district's processes on the engine (`workflows`): handing community work down under
权随责走、费随事转 — requests, catalog screening, the agreement, the money, the dashboard — plus the
annual review of the catalog, emergency orders and the termination of a signed handoff.

Nothing registers on import: the app factory, the CLI and the tests call `register()`.
"""

from __future__ import annotations

from workflows import plugins


def register(registry: plugins.Registry = plugins.REGISTRY) -> None:
    """Register this package's process plugins with the engine (idempotent)."""
    from .catalog_review import catalog_review_plugin
    from .emergency import emergency_plugin
    from .plugin import handoff_plugin
    from .termination import termination_plugin

    registry.register(handoff_plugin())
    registry.register(catalog_review_plugin())
    registry.register(emergency_plugin())
    registry.register(termination_plugin())

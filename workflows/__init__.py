"""The engine layer: process definitions, instances, routing, timers and rules.

It knows nothing of Flask or HTTP; the server calls into `workflows.service`.
"""

"""Process plugins: the domain code a process may bring beside its BPMN file.

The engine runs any deployed BPMN on its own. A process that keeps records of its own, checks
forms across fields or offers functions to its expressions registers a `ProcessPlugin` for its
process keys, by an explicit call at start-up (the app factory, the CLI, a test):

    plugins.register(ProcessPlugin(name="leave", process_keys={"leave"}, hooks=LeaveHooks()))

Registering replaces an earlier plugin of the same name, so the call may be repeated.

Observers are hooks that hear of the steps of every process, whatever its plugin, after the
process's own hooks and in the same transaction (`observe("notifications", hooks)`); they are
registered by name too, so that call may be repeated as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .hooks import ProcessHooks

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .models import ProcessInstance

# rule(cleaned form data, instance data) -> {field: message}; see `forms.clean`
FormRule = Callable[[dict[str, Any], Mapping[str, Any]], dict[str, str]]
# check(session, instance) -> problems as (kind, detail); see `consistency.check_instance`
ConsistencyCheck = Callable[["Session", "ProcessInstance"], Iterable[tuple[str, str]]]
# policy(instance, actor) -> whether the actor may cancel the running instance; a policy may
# raise `errors.Conflict` to say why the instance cannot be cancelled now (a 409 to whoever may)
CancelPolicy = Callable[["ProcessInstance", Any], bool]
# prepare(session, cleaned start data, actor) -> start data: a generic start's data completed
# from the plugin's own records before the org scope is resolved (say, the org units of the
# record the new instance is about); raising FormErrors or an engine error refuses the start
StartData = Callable[["Session", dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class ProcessPlugin:
    name: str
    process_keys: frozenset[str]
    hooks: ProcessHooks = field(default_factory=ProcessHooks)
    # task key (or the start event's id) -> rules run after the field checks pass
    form_rules: Mapping[str, Sequence[FormRule]] = field(default_factory=dict)
    # extra functions the process's expressions and scripts may call
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    consistency_checks: Sequence[ConsistencyCheck] = ()
    # None: the engine's rule (an admin or the instance's starter)
    may_cancel: CancelPolicy | None = None
    # the plugin starts its instances itself (e.g. a fan-out with records of its own): the
    # generic start refuses them and points to `start_hint`
    own_start: bool = False
    start_hint: str = ""
    # None: the start form's data as it is (see StartData)
    start_data: StartData | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "process_keys", frozenset(self.process_keys))

    def rules_for(self, task_key: str) -> Sequence[FormRule]:
        return self.form_rules.get(task_key, ())


_NONE = ProcessPlugin(name="", process_keys=frozenset())


class Registry:
    """Process key -> plugin. One per process; most processes need none."""

    def __init__(self) -> None:
        self._by_name: dict[str, ProcessPlugin] = {}
        self._by_key: dict[str, ProcessPlugin] = {}
        self._observers: dict[str, ProcessHooks] = {}
        self._lock = threading.Lock()
        self.version = 0  # bumps on every change, for caches built from plugins

    def register(self, plugin: ProcessPlugin) -> None:
        with self._lock:
            self._by_name[plugin.name] = plugin
            by_key: dict[str, ProcessPlugin] = {}
            for p in self._by_name.values():
                for key in p.process_keys:
                    if key in by_key and by_key[key].name != p.name:
                        raise ValueError(f"process {key!r} has two plugins: {by_key[key].name}")
                    by_key[key] = p
            self._by_key = by_key
            self.version += 1

    def for_process(self, key: str) -> ProcessPlugin:
        return self._by_key.get(key, _NONE)

    def all(self) -> list[ProcessPlugin]:
        return list(self._by_name.values())

    def observe(self, name: str, observer: ProcessHooks) -> None:
        """Let `observer` hear of every process's steps (replacing one of the same name)."""
        with self._lock:
            self._observers = {**self._observers, name: observer}

    def observers(self) -> list[ProcessHooks]:
        return list(self._observers.values())

    def hooks_for(self, key: str) -> list[ProcessHooks]:
        """The process's own hooks, then every observer: who hears of a step, in order."""
        return [self.for_process(key).hooks, *self._observers.values()]


REGISTRY = Registry()
register = REGISTRY.register
for_process = REGISTRY.for_process
observe = REGISTRY.observe
hooks_for = REGISTRY.hooks_for

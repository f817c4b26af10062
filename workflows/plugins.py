"""Process plugins: the domain code a process may bring beside its BPMN file.

The engine runs any deployed BPMN on its own. A process that keeps records of its own, checks
forms across fields or offers functions to its expressions registers a `ProcessPlugin` for its
process keys, by an explicit call at start-up (the app factory, the CLI, a test):

    plugins.register(ProcessPlugin(name="leave", process_keys={"leave"}, hooks=LeaveHooks()))

Registering replaces an earlier plugin of the same name, so the call may be repeated.

Code that reads a form field states it: a form rule through `rule` (``rule(check,
completed_on="date")``), a hook through `ProcessPlugin.hook_fields`. The plugin applies to every
deployed version of its processes, so deployment refuses a version whose task lacks a field
the plugin's code reads (`field_needs`, checked by `workflows.validation`), and a version
deployed before that check is refused at run time with a clear error (`unmet_fields`) rather
than failing inside the rule.

Observers are hooks that hear of the steps of every process, whatever its plugin, after the
process's own hooks and in the same transaction (`observe("notifications", hooks)`); they are
registered by name too, so that call may be repeated as well.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .forms import FIELD_TYPES, FieldNeed, Form, unmet_needs
from .hooks import ProcessHooks

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .models import ProcessInstance

# check(cleaned form data, instance data) -> {field: message}; see `forms.clean`
RuleCheck = Callable[[dict[str, Any], Mapping[str, Any]], dict[str, str]]


@dataclass(frozen=True)
class FormRule:
    """A form rule with the form fields it reads: field id -> FieldNeed. A plain function is
    a rule too, for checks that read no field unconditionally (``data.get(...)`` only)."""

    check: RuleCheck
    fields: Mapping[str, FieldNeed] = field(default_factory=dict)

    def __call__(self, data: dict[str, Any], instance: Mapping[str, Any]) -> dict[str, str]:
        return self.check(data, instance)

    @property
    def name(self) -> str:
        return getattr(self.check, "__name__", "rule").strip("_")


def rule(check: RuleCheck, **fields: str | FieldNeed) -> FormRule:
    """A form rule reading these fields: ``name="date"`` for a required field of that type, or
    a FieldNeed (``FieldNeed("decimal", required=False)`` for one it reads only if given)."""
    needs = {
        fid: need if isinstance(need, FieldNeed) else FieldNeed(need)
        for fid, need in fields.items()
    }
    for fid, need in needs.items():
        if need.type not in FIELD_TYPES:
            raise ValueError(f"rule {check.__name__}: field {fid!r} has unknown type {need.type!r}")
    return FormRule(check, needs)


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
    form_rules: Mapping[str, Sequence[FormRule | RuleCheck]] = field(default_factory=dict)
    # task key (or the start event's id) -> the form fields the hooks read from its data
    hook_fields: Mapping[str, Mapping[str, str | FieldNeed]] = field(default_factory=dict)
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

    def rules_for(self, task_key: str) -> Sequence[FormRule | RuleCheck]:
        return self.form_rules.get(task_key, ())

    def field_needs(self) -> dict[str, dict[str, FieldNeed]]:
        """Task key (or start event id) -> the fields the plugin's rules and hooks read there,
        each with its reader named."""
        needs: dict[str, dict[str, FieldNeed]] = {}
        for key, rules in self.form_rules.items():
            for check in rules:
                if isinstance(check, FormRule):
                    for fid, need in check.fields.items():
                        needs.setdefault(key, {}).setdefault(
                            fid, FieldNeed(need.type, need.required, need.reader or check.name)
                        )
        for key, fields in self.hook_fields.items():
            for fid, need in fields.items():
                need = need if isinstance(need, FieldNeed) else FieldNeed(need)
                reader = need.reader or f"{self.name} hooks"
                needs.setdefault(key, {}).setdefault(
                    fid, FieldNeed(need.type, need.required, reader)
                )
        return needs

    def unmet_fields(self, task_key: str, form: Form) -> dict[str, str]:
        """{field: message} for each field the plugin's code reads at this task that its form
        does not provide as needed (empty when all is well)."""
        needs = self.field_needs().get(task_key)
        if not needs:
            return {}
        unmet = {}
        for fid, need, _what in unmet_needs(form, needs):
            kind = f"{need.type}{'，必填' if need.required else ''}"
            kind_en = f"{need.type}{', required' if need.required else ''}"
            unmet[fid] = (
                f"流程规则 {need.reader} 要读取表单字段“{fid}”（{kind}），"
                "本流程版本的表单没有这样的字段 "
                f"(the rule {need.reader} reads form field {fid!r} ({kind_en}), "
                "which the form of this version does not have)"
            )
        return unmet


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

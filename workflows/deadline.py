"""The wall-clock limit of one engine step, enforced from outside the interpreter.

An engine step (SpiffWorkflow running automatic tasks, gateways, scripts and timers until only a
person, a message or time can move the instance on) is pure Python. A thread cannot interrupt
pure Python in another thread, and running each step in a subprocess would cost a fork and a
reload of the workflow per step, many times the ~1 ms a step takes. So `step_limit` arms a real
interval timer (`signal.setitimer(ITIMER_REAL)`): when it expires the kernel sends SIGALRM, and
Python runs our handler in the main thread at the next bytecode, wherever the step is (in
SpiffWorkflow, in the evaluator, in a serialiser loop). The handler raises `StepTimeout`, which
unwinds the step; the service rolls the transaction back and marks the instance ``error``.

`StepTimeout` derives from BaseException, like KeyboardInterrupt, because SpiffWorkflow and the
evaluator turn every Exception into an error of their own and would swallow it. For the same
reason SQLAlchemy invalidates a connection an exit exception went through rather than reuse it.
What the step was doing is thrown away whole: the workflow object is discarded and the
transaction rolled back. (The parsed process spec is shared between instances, and SpiffWorkflow
3.2 assigns to it in a few places, e.g. Camunda multi-instance tasks; those are single attribute
assignments, which an exception between bytecodes cannot leave half done.)

Where it works: signals can only be handled in the main thread, which is where gunicorn's sync
workers (the service's configuration: scripts/serve, docs/DEPLOY.md), the timer worker
(`flask timer-worker`) and the other CLI commands run a step. Anywhere else (gthread or other
threaded workers, a step run from a thread in a test) `step_limit` arms no timer and the step
relies on cooperative checks: the evaluator stops at the step's deadline between syntax nodes
and at every expression or script SpiffWorkflow asks for (`checkpoint`), so a step of many
expressions stops in time, but a long stretch of SpiffWorkflow's own code between two
expressions runs to its end. A signal handler runs between bytecodes only, so neither can cut a
single long C call short: the value sizes of `workflows.limits` keep each one short.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["StepTimeout", "checkpoint", "current_deadline", "step_limit"]


class StepTimeout(BaseException):
    """The engine step ran past its wall-clock limit; ``element`` is the BPMN element it was at
    (the last one that evaluated an expression or ran a script), when known."""

    def __init__(self, seconds: float, element: str | None = None):
        self.seconds = seconds
        self.element = element
        where = f" (at {element})" if element else ""
        super().__init__(f"the step ran longer than its limit of {seconds:g} seconds{where}")


_deadline: ContextVar[tuple[float, float] | None] = ContextVar("step_deadline", default=None)
_element: ContextVar[str | None] = ContextVar("step_element", default=None)


def current_deadline() -> float | None:
    """`time.monotonic()` value at which the running step must stop; None outside a step."""
    limit = _deadline.get()
    return limit[0] if limit is not None else None


def checkpoint(element: str | None = None) -> None:
    """Note the element the step is at and stop it if its time is up (the cooperative check,
    for where no signal can be used)."""
    if element is not None:
        _element.set(element)
    limit = _deadline.get()
    if limit is not None and time.monotonic() > limit[0]:
        raise StepTimeout(limit[1], _element.get())


def overrun() -> StepTimeout:
    """The StepTimeout of the running step (for the evaluator's own deadline check)."""
    limit = _deadline.get()
    return StepTimeout(limit[1] if limit else 0.0, _element.get())


def _can_signal() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def step_limit(seconds: float) -> Iterator[None]:
    """Run the block as one engine step of at most ``seconds``; StepTimeout when it overruns.

    Nested blocks run within the outer step's limit. Any interval timer and SIGALRM handler
    that were set before (nothing in the service sets one) are put back afterwards."""
    if _deadline.get() is not None:
        yield
        return
    started = time.monotonic()
    token = _deadline.set((started + seconds, seconds))
    element_token = _element.set(None)
    armed = _can_signal()
    active = [True]  # the handler must not fire once the step is over

    def on_alarm(_signum, _frame) -> None:
        if active[0]:
            active[0] = False
            raise StepTimeout(seconds, _element.get())

    if armed:
        previous = signal.signal(signal.SIGALRM, on_alarm)
        before = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        active[0] = False
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
            if before[0] > 0:  # someone else's timer: give it back what is left of it
                left = before[0] - (time.monotonic() - started)
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), before[1])
        _element.reset(element_token)
        _deadline.reset(token)

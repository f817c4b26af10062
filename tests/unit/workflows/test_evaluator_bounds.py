"""Issue 14.1: no single operation of the evaluator runs long, because no value it may make is
big. Each hostile expression below took seconds to minutes in one C call (a comparison, a hash)
that the old time checks between syntax nodes could not interrupt; now it is refused before the
value is built, in milliseconds, and a process using one fails its step cleanly."""

from __future__ import annotations

import time

import pytest

from workflows import evaluator, limits
from workflows.errors import EngineFailure
from workflows.evaluator import ExpressionError, evaluate, execute

from .processes import REVIEW, chain, counts, deploy, script, start

FAST = 0.5  # seconds: a refusal takes milliseconds; the operations refused took 6 to 31 s

HOSTILE = {
    "compare_repeated_lists": "[[1] * 100000] * 100000 == [[1] * 100000] * 100000",
    "hash_repeated_tuples": "len({((1,) * 100000,) * 100000})",
    "dict_key_hash": "len({((1,) * 1000,) * 1000: 1})",
    "concatenate_nested": "[[1] * 100000] * 9 + [[1] * 100000] * 2",
    "literal_of_aliases": "[[[1] * 100000] * 5, [[1] * 100000] * 6]",
    "membership": "[1] in [[1] * 100000] * 100000",
    "repeat_in_str": "str([[0] * 100000] * 100000)",
}


@pytest.mark.parametrize("source", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_operations_are_refused_before_they_run(source):
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="too large|longer than"):
        evaluate(source, {})
    assert time.monotonic() - started < FAST


def test_values_within_the_bound_still_work():
    assert evaluate("[[1] * 999] * 999 == [[1] * 999] * 999", {}) is True
    assert evaluate("len({((1,) * 999,) * 999})", {}) == 1
    assert evaluate("len([[1] * 1000] * 990 + [[2] * 1000])", {}) == 991
    assert evaluate("x + [4]", {"x": [1, 2, 3]}) == [1, 2, 3, 4]
    assert evaluate("{'a': [1, 2], 'b': {'c': 'd'}}", {}) == {"a": [1, 2], "b": {"c": "d"}}


def test_shared_values_count_every_time_they_appear():
    inner = [1] * 1000
    assert limits.units(inner) == 1001
    assert limits.units([inner, inner]) == 1 + 2 * 1001
    assert limits.units({"k": "abc", "n": None}) == 1 + (2 + 4) + (2 + 1)
    # a value of 10^10 units measured in about `limit` steps, not 10^10
    huge = [[1] * 100_000] * 100_000
    started = time.monotonic()
    assert limits.units(huge) > limits.MAX_VALUE_UNITS
    assert time.monotonic() - started < FAST


def test_data_from_the_instance_is_measured_before_it_is_repeated():
    data = {"row": [0] * 50_000}
    with pytest.raises(ExpressionError, match="too large"):
        evaluate("[row] * 30", data)
    assert len(evaluate("[row] * 19", data)) == 19


def test_a_run_may_not_make_unbounded_data_in_all():
    # each value is small enough; together they would fill memory
    lines = "\n".join(f"x{i} = len([0] * 100000)" for i in range(60))
    with pytest.raises(ExpressionError, match="too much data"):
        execute(lines, {})
    execute("\n".join(f"x{i} = len([0] * 100000)" for i in range(40)), {})


def test_assigned_values_are_measured_like_made_ones():
    execute("a = [[1] * 990] * 1000", {})  # 991,001 units
    with pytest.raises(ExpressionError, match="too large"):
        execute("a = [[1] * 999] * 1000\nb = [a, a]", {})


def test_the_units_bound_is_the_evaluators():
    assert evaluator.MAX_DATA_UNITS == limits.MAX_VALUE_UNITS == 1_000_000


@pytest.mark.parametrize("name", ["compare_repeated_lists", "hash_repeated_tuples"])
def test_a_process_with_a_hostile_script_fails_its_step_cleanly(db, name):
    definition = deploy(db, chain(script("calc", f"x = {HOSTILE[name]}"), REVIEW))
    before = counts(db)
    started = time.monotonic()
    with pytest.raises(EngineFailure) as err:
        start(db, definition)
    assert time.monotonic() - started < FAST
    assert err.value.element == "calc" and err.value.fields == {"element": "calc"}
    assert "too large" in err.value.message
    assert counts(db) == before  # nothing stored: no instance, no task, no audit event

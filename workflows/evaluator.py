"""Restricted evaluator for BPMN expressions and script tasks.

SpiffWorkflow's default script engine hands gateway conditions, timer expressions and script tasks
to Python's built-in code runner, i.e. anyone who can deploy a BPMN file can run arbitrary code on
the server. This module replaces it with a small interpreter: the source is parsed with
``ast.parse`` and only a whitelist of syntax nodes is interpreted, here, node by node. Python never
runs the code itself, and no attribute of any Python object is ever looked up by name.

Expressions (``mode="eval"``)
    constants (str, int, float, bool, None), names (variables first, then functions), list / tuple
    / dict / set literals, ``+ - * / // % **``, ``not``, unary ``-``/``+``, ``and``/``or``, all
    comparisons (``in``, ``not in``, ``is``, ``is not`` too), ``x if c else y``, subscripts and
    slices on str/list/tuple/dict, dotted access ``a.b`` which ONLY reads key ``"b"`` of dict ``a``
    (a missing key gives None), calls of whitelisted functions by plain name, and f-strings
    without format specs.
Scripts (``mode="exec"``)
    assignments (to a name, or to a key of a dict via ``d['k'] = v`` / ``d.k = v``, or an index of
    a list), augmented assignments (``+=`` …), ``if``/``elif``/``else``, ``pass`` and function-call
    statements. No loops, definitions, imports, ``del``, ``try``, ``with``, comprehensions, lambdas,
    ``:=``, ``*``-unpacking, ``yield``/``await``.

Resource limits: source length, number of syntax nodes and nesting depth are capped; strings,
lists, tuples, dicts and sets are capped at ``MAX_SEQUENCE`` elements/characters; integers at
``MAX_INT_BITS`` bits; ``**`` only with exponents of at most 64 and results within the integer
cap; ``%`` is arithmetic only (no string formatting). Every value an operation makes is at most
``limits.MAX_VALUE_UNITS`` in size, nested values counted each time they appear, and this is
checked *before* the operation builds it where building is itself the cost (``*`` and ``+`` on
sequences, set and dict literals, whose keys are hashed): a single operation is one call into C
that no time check can interrupt (see `workflows.limits`). All the values one run makes
together are capped at ``limits.MAX_RUN_UNITS``. Time is checked between syntax nodes, against
``MAX_SECONDS`` per evaluation and against the deadline of the engine step it runs in
(`workflows.deadline`). Values assigned by scripts must be JSON data (str, int, float, bool,
None, list, dict with str keys) of bounded total size. Scripts run on a copy of the data, so a
failing script leaves the variables untouched.

SpiffWorkflow's script engine on top of this module is `workflows.script_engine`.

Every refusal or runtime failure raises :class:`ExpressionError`, whose message names the construct
and the line.
"""

from __future__ import annotations

import ast
import copy
import math
import operator
import textwrap
import time
from collections import ChainMap
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

from workflows import calendar, clock, deadline, limits, workdays

__all__ = ["DEFAULT_FUNCTIONS", "ExpressionError", "evaluate", "execute", "validate"]

MAX_SOURCE_CHARS = 5_000
MAX_NODES = 2_000  # AST nodes, operator and context nodes included
MAX_DEPTH = 100  # AST nesting depth (keeps the recursive interpreter far from Python's limit)
MAX_SEQUENCE = 100_000  # elements of a list/tuple/dict/set, characters of a str
MAX_INT_BITS = 256
MAX_EXPONENT = 64
MAX_DATA_UNITS = limits.MAX_VALUE_UNITS  # one assigned value, in `limits.units`
MAX_DATA_DEPTH = 50  # nesting of one assigned value
MAX_WORKING_DAYS = 3_660
MAX_SECONDS = 2.0  # wall-clock budget of one evaluation or script run (checked between nodes)


class ExpressionError(Exception):
    """An expression or script was refused or failed; ``lineno`` is its line (1-based) if known."""

    def __init__(self, message: str, lineno: int | None = None):
        self.message = message
        self.lineno = lineno
        super().__init__(f"{message} (line {lineno})" if lineno else message)


def _lineno(node: ast.AST | None) -> int | None:
    return node.lineno if isinstance(node, ast.expr | ast.stmt | ast.keyword) else None


def _error(message: str, node: ast.AST | None = None) -> ExpressionError:
    return ExpressionError(message, _lineno(node))


# --------------------------------------------------------------------------------------------
# Default functions
# --------------------------------------------------------------------------------------------


def _now() -> str:
    """The current time (engine clock) as an ISO 8601 string in UTC."""
    return clock.now().isoformat()


def _today() -> str:
    """Today's date in Asia/Shanghai as ``YYYY-MM-DD``."""
    return workdays.shanghai_date(clock.now()).isoformat()


def _add_working_days(start: str | datetime | date, n: int) -> str:
    """Working days by the calendar in force, for expressions: ISO string (or datetime) in, ISO
    UTC out. A date or a datetime without offset is taken as Asia/Shanghai local time. A date
    counted through a year with no calendar is provisional (see `workflows.calendar.count`).
    """
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.strip())
        except ValueError:
            raise ValueError(f"not an ISO date/time: {start[:40]!r}") from None
    elif isinstance(start, date) and not isinstance(start, datetime):
        start = datetime(start.year, start.month, start.day)
    if not isinstance(start, datetime):
        raise ValueError(f"start must be an ISO date/time string, not {type(start).__name__}")
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"the number of working days must be an int, not {type(n).__name__}")
    if not 0 <= n <= MAX_WORKING_DAYS:
        raise ValueError(f"the number of working days must be between 0 and {MAX_WORKING_DAYS}")
    return calendar.count(start, n).at.isoformat()


def _safe_str(value: Any = "") -> str:
    """``str()`` that refuses to render huge (possibly self-repeating) nested data."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | dict | set | frozenset):
        _check_render_size(value)
    text = str(value)
    if len(text) > MAX_SEQUENCE:
        raise ValueError(f"result longer than {MAX_SEQUENCE} characters")
    return text


def _safe_int(value: Any = 0) -> int:
    """``int()`` of a number or a short decimal string (no base argument)."""
    if isinstance(value, str) and len(value) > 100:
        raise ValueError("string too long to convert to int")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot convert {value} to int")
    if not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"int() needs a number or a string, not {type(value).__name__}")
    return _check_int(int(value))


def _safe_round(number: Any, ndigits: int | None = None) -> Any:
    """``round()`` with a bounded number of digits."""
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ValueError(f"round() needs a number, not {type(number).__name__}")
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, bool) or not isinstance(ndigits, int) or not -20 <= ndigits <= 20:
        raise ValueError("round() digits must be an int between -20 and 20")
    return round(number, ndigits)


DEFAULT_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "len": len,
        "str": _safe_str,
        "int": _safe_int,
        "bool": bool,
        "min": min,
        "max": max,
        "abs": abs,
        "round": _safe_round,
        "now": _now,
        "add_working_days": _add_working_days,
        "today": _today,
    }
)


# --------------------------------------------------------------------------------------------
# Size checks
# --------------------------------------------------------------------------------------------


def _check_int(value: int) -> int:
    if value.bit_length() > MAX_INT_BITS:
        raise ValueError(f"integer larger than {MAX_INT_BITS} bits")
    return value


def _check_size(value: Any, node: ast.AST | None = None, measured: bool = False) -> Any:
    """Refuse results that are too big (or of a type no expression should produce);
    ``measured``: its size in units was checked before it was built."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise _error(f"integer larger than {MAX_INT_BITS} bits", node)
    elif isinstance(value, str | list | tuple | dict | set | frozenset):
        if len(value) > MAX_SEQUENCE:
            raise _error(f"result longer than {MAX_SEQUENCE} elements or characters", node)
        measured = measured or isinstance(value, str)  # a str's size is its length
        if not measured and limits.units(value) > limits.MAX_VALUE_UNITS:
            raise _too_large(node)
    elif isinstance(value, complex | bytes | bytearray | memoryview):
        raise _error(f"values of type {type(value).__name__} are not supported", node)
    return value


def _too_large(node: ast.AST | None) -> ExpressionError:
    return _error(
        f"result too large: more than {limits.MAX_VALUE_UNITS} elements and characters "
        "(nested values counted each time they appear)",
        node,
    )


def _check_render_size(value: Any) -> None:
    """Estimate the length of ``str(value)`` for nested data without building it."""
    budget = MAX_SEQUENCE
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DATA_DEPTH:
            raise ValueError("data nested too deeply to convert to str")
        if isinstance(item, str):
            budget -= len(item) + 4
        elif isinstance(item, dict):
            budget -= 2 + 2 * len(item)
            for key, val in item.items():
                stack.append((key, depth + 1))
                stack.append((val, depth + 1))
        elif isinstance(item, list | tuple | set | frozenset):
            budget -= 2 + 2 * len(item)
            stack.extend((element, depth + 1) for element in item)
        elif isinstance(item, int) and not isinstance(item, bool):
            budget -= item.bit_length() // 3 + 2
        else:
            budget -= 24
        if budget < 0:
            raise ValueError(f"result longer than {MAX_SEQUENCE} characters")


def _check_json(value: Any, node: ast.AST, container: Any = None) -> None:
    """Scripts may only store JSON data, of bounded size, that does not contain ``container``."""
    budget = MAX_DATA_UNITS
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DATA_DEPTH:
            raise _error("assigned value is nested too deeply", node)
        if container is not None and item is container:
            raise _error("cannot store a value inside itself", node)
        if item is None or isinstance(item, bool):
            budget -= 1
        elif isinstance(item, int):
            _check_size(item, node)
            budget -= 1
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise _error(f"cannot assign {item}: not a finite number", node)
            budget -= 1
        elif isinstance(item, str):
            budget -= len(item) + 1
        elif isinstance(item, list):
            budget -= 1  # and each element, as it is taken: what `limits.units` counts
            stack.extend((element, depth + 1) for element in item)
        elif isinstance(item, dict):
            budget -= len(item) + 1
            for key, val in item.items():
                if not isinstance(key, str):
                    raise _error(
                        f"cannot assign a dict with a {type(key).__name__} key: "
                        "data keys must be strings",
                        node,
                    )
                budget -= len(key)
                stack.append((val, depth + 1))
        else:
            raise _error(
                f"cannot assign a value of type {type(item).__name__}: data must be str, int, "
                "float, bool, None, list or dict",
                node,
            )
        if budget < 0:
            raise _error("assigned value is too large", node)


# --------------------------------------------------------------------------------------------
# Validation (whitelist of syntax)
# --------------------------------------------------------------------------------------------

_EXPRESSION_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.Attribute,
    ast.Call,
    ast.keyword,
    ast.JoinedStr,
    ast.FormattedValue,
    # contexts and operators
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Is,
    ast.IsNot,
    ast.In,
    ast.NotIn,
)
_STATEMENT_NODES = (ast.Module, ast.Assign, ast.AugAssign, ast.If, ast.Pass, ast.Expr, ast.Store)

# Friendly names for refused syntax (by class name, so newer/older Pythons need no changes).
_REFUSED = {
    "Lambda": "a lambda",
    "ListComp": "a comprehension",
    "SetComp": "a comprehension",
    "DictComp": "a comprehension",
    "GeneratorExp": "a generator expression",
    "comprehension": "a comprehension",
    "NamedExpr": "the walrus operator (:=)",
    "Starred": "*-unpacking",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
    "For": "a for loop",
    "AsyncFor": "a for loop",
    "While": "a while loop",
    "Break": "break",
    "Continue": "continue",
    "FunctionDef": "a function definition (def)",
    "AsyncFunctionDef": "a function definition (def)",
    "ClassDef": "a class definition",
    "Return": "return",
    "Import": "import",
    "ImportFrom": "import",
    "With": "with",
    "AsyncWith": "with",
    "Try": "try",
    "TryStar": "try",
    "Raise": "raise",
    "Assert": "assert",
    "Delete": "del",
    "Del": "del",
    "Global": "global",
    "Nonlocal": "nonlocal",
    "Match": "match",
    "AnnAssign": "an annotated assignment",
    "TypeAlias": "a type alias",
    "MatMult": "the @ operator",
    "BitOr": "the | operator",
    "BitAnd": "the & operator",
    "BitXor": "the ^ operator",
    "LShift": "the << operator",
    "RShift": "the >> operator",
    "Invert": "the ~ operator",
}

# Nodes whose value can never be a dict, so ``<node>.attr`` is refused before running.
_NEVER_DICT = (
    ast.Constant,
    ast.JoinedStr,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Compare,
    ast.BinOp,
    ast.UnaryOp,
)


def _describe(node: ast.AST) -> str:
    name = type(node).__name__
    return _REFUSED.get(name, f"the construct {name}")


def _prepare(source: str, mode: str) -> str:
    if not isinstance(source, str):
        raise ExpressionError(f"source must be a string, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"source is too long ({len(source)} > {MAX_SOURCE_CHARS} characters)")
    if mode == "eval":
        return source.strip()
    if mode == "exec":
        return textwrap.dedent(source)
    raise ValueError("mode must be 'eval' or 'exec'")


def _check_node(
    node: ast.AST,
    mode: str,
    functions: Mapping[str, Any] | None,
    slice_ok: bool,
) -> None:
    """Refuse ``node`` unless it is whitelisted and used in an allowed way."""
    allowed = _EXPRESSION_NODES if mode == "eval" else _EXPRESSION_NODES + _STATEMENT_NODES
    if not isinstance(node, allowed) or (mode == "exec" and isinstance(node, ast.Expression)):
        raise _error(f"{_describe(node)} is not allowed", node)

    if isinstance(node, ast.Constant):
        value = node.value
        if not (value is None or isinstance(value, str | int | float)):
            raise _error(f"constants of type {type(value).__name__} are not allowed", node)
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise _error(f"integer constant larger than {MAX_INT_BITS} bits", node)
    elif isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise _error(f"names starting with '__' are not allowed ({node.id!r})", node)
    elif isinstance(node, ast.Attribute):
        if node.attr.startswith("__"):
            raise _error(
                f"attribute access is only allowed on dicts, never to '__' names ('{node.attr}')",
                node,
            )
        if isinstance(node.value, _NEVER_DICT):
            raise _error(f"attribute access is only allowed on dicts ('.{node.attr}')", node)
    elif isinstance(node, ast.Slice):
        if not slice_ok:
            raise _error("a slice is only allowed directly inside [...]", node)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _error(
                "only functions can be called, by plain name (no method calls): "
                "function calls are limited to: " + _function_list(functions),
                node,
            )
        if functions is not None and node.func.id not in functions:
            raise _error(
                f"'{node.func.id}' cannot be called: function calls are limited to: "
                + _function_list(functions),
                node,
            )
        for kw in node.keywords:
            if kw.arg is None:
                raise _error("**-unpacking of arguments is not allowed", node)
    elif isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise _error("**-unpacking in dict literals is not allowed", node)
    elif isinstance(node, ast.FormattedValue):
        if node.format_spec is not None:
            raise _error("format specs in f-strings (f'{x:...}') are not supported", node)
    elif isinstance(node, ast.List | ast.Tuple):
        if isinstance(node.ctx, ast.Store):
            raise _error("tuple unpacking in assignments is not supported", node)
    elif isinstance(node, ast.Assign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Tuple | ast.List | ast.Starred):
                raise _error("tuple unpacking in assignments is not supported", node)
            if not isinstance(target, ast.Name | ast.Subscript | ast.Attribute):
                raise _error(
                    "can only assign to a name, a dict key (d['k'], d.k) or a list index", node
                )
            if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice):
                raise _error("slice assignment is not supported", node)
    elif isinstance(node, ast.Expr):
        if not isinstance(node.value, ast.Call) and not (
            isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        ):
            raise _error(
                "a statement must be an assignment, if/elif/else, pass or a function call", node
            )


def _function_list(functions: Mapping[str, Any] | None) -> str:
    return ", ".join(sorted(functions)) if functions else "(none)"


def _check_tree(tree: ast.AST, mode: str, functions: Mapping[str, Any] | None) -> None:
    count = 0
    stack: list[tuple[ast.AST, int, bool]] = [(tree, 0, False)]
    while stack:
        node, depth, slice_ok = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"too complex (more than {MAX_NODES} syntax nodes)")
        if depth > MAX_DEPTH:
            raise _error(f"nested too deeply (more than {MAX_DEPTH} levels)", node)
        _check_node(node, mode, functions, slice_ok)
        for child in ast.iter_child_nodes(node):
            child_slice_ok = isinstance(node, ast.Subscript) and child is node.slice
            stack.append((child, depth + 1, child_slice_ok))


@lru_cache(maxsize=1024)
def _parse_checked(source: str, mode: str, function_names: frozenset[str] | None) -> ast.AST:
    """Parse and check; cached, since conditions are evaluated again and again. Trees are never
    modified after this, so sharing them is safe."""
    try:
        tree = ast.parse(source, filename="<expression>", mode=mode)
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}", exc.lineno) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("nested too deeply") from None
    except ValueError as exc:  # e.g. NUL characters
        raise ExpressionError(f"invalid source: {exc}") from None
    _check_tree(tree, mode, function_names)
    return tree


def _parse(source: str, mode: str, functions: Mapping[str, Any] | None) -> ast.AST:
    source = _prepare(source, mode)
    names = frozenset(functions) if functions is not None else None
    try:
        return _parse_checked(source, mode, names)
    except RecursionError:
        raise ExpressionError("nested too deeply") from None


def validate(
    source: str,
    *,
    mode: Literal["eval", "exec"],
    functions: Mapping[str, Callable[..., Any]] | None = DEFAULT_FUNCTIONS,
) -> None:
    """Parse ``source`` and check that it only uses the allowed syntax; raise ExpressionError.

    Used at deploy time. With ``functions`` (default: DEFAULT_FUNCTIONS) calls of other names are
    refused too; pass ``functions=None`` to skip that check.
    """
    _parse(source, mode, functions)


# --------------------------------------------------------------------------------------------
# Interpreter
# --------------------------------------------------------------------------------------------

_SEQUENCES = (str, list, tuple)
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int)  # bool included: True * 'a' is 'a'


def _binop(op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
    """``left <op> right``; sequences that ``+`` or ``*`` would make too big are refused
    before they are built (building them is the cost)."""
    if isinstance(op, ast.Add):
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            if len(left) + len(right) > MAX_SEQUENCE:
                raise _error(f"result longer than {MAX_SEQUENCE} elements or characters", node)
            if isinstance(left, list | tuple) and isinstance(right, list | tuple):
                if limits.units(left) + limits.units(right) > limits.MAX_VALUE_UNITS:
                    raise _too_large(node)
        result = left + right
    elif isinstance(op, ast.Sub):
        result = left - right
    elif isinstance(op, ast.Mult):
        seq, count = (
            (left, right)
            if isinstance(left, _SEQUENCES)
            else (right, left)
            if isinstance(right, _SEQUENCES)
            else (None, None)
        )
        if seq is not None and _is_int(count) and count > 0:
            if len(seq) * count > MAX_SEQUENCE:
                raise _error(f"result longer than {MAX_SEQUENCE} elements or characters", node)
            if not isinstance(seq, str) and limits.units(seq) * count > limits.MAX_VALUE_UNITS:
                raise _too_large(node)
        result = left * right
    elif isinstance(op, ast.Div):
        result = left / right
    elif isinstance(op, ast.FloorDiv):
        result = left // right
    elif isinstance(op, ast.Mod):
        if isinstance(left, str | bytes):
            raise _error("'%' string formatting is not allowed; use an f-string", node)
        result = left % right
    elif isinstance(op, ast.Pow):
        result = _power(left, right, node)
    else:  # pragma: no cover - refused by validation
        raise _error(f"{_describe(op)} is not allowed", node)
    return _check_size(result, node, measured=isinstance(op, ast.Add | ast.Mult))


def _power(base: Any, exponent: Any, node: ast.AST) -> Any:
    numbers = int | float
    if not isinstance(base, numbers) or not isinstance(exponent, numbers):
        raise _error("** needs numbers", node)
    if abs(exponent) > MAX_EXPONENT:
        raise _error(f"** exponent must be between -{MAX_EXPONENT} and {MAX_EXPONENT}", node)
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        if abs(base).bit_length() * exponent > MAX_INT_BITS + exponent:
            raise _error(f"** result larger than {MAX_INT_BITS} bits", node)
    result = base**exponent
    if isinstance(result, complex):
        raise _error("** with a negative base and a fractional exponent", node)
    return result


class _Interpreter:
    def __init__(
        self,
        variables: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]],
        writable: dict[str, Any] | None = None,
    ):
        self.variables = variables
        self.functions = functions
        self.writable = writable
        # its own budget, or the deadline of the engine step it runs in if that comes first
        own = time.monotonic() + MAX_SECONDS
        step = deadline.current_deadline()
        self.step_bound = step is not None and step < own
        self.deadline = step if self.step_bound else own
        self.made = 0  # elements and characters of the values made so far (MAX_RUN_UNITS)
        self.handlers: dict[type, Callable[[Any], Any]] = {
            ast.Constant: lambda n: n.value,
            ast.Name: self._name,
            ast.List: lambda n: self._made(_check_size([self.interpret(e) for e in n.elts], n), n),
            ast.Tuple: lambda n: self._made(
                _check_size(tuple(self.interpret(e) for e in n.elts), n), n
            ),
            ast.Set: self._set,
            ast.Dict: self._dict,
            ast.BinOp: lambda n: self._made(
                _binop(n.op, self.interpret(n.left), self.interpret(n.right), n), n
            ),
            ast.UnaryOp: self._unary,
            ast.BoolOp: self._boolop,
            ast.Compare: self._compare,
            ast.IfExp: self._ifexp,
            ast.Subscript: self._subscript,
            ast.Attribute: self._attribute,
            ast.Call: self._call,
            ast.JoinedStr: self._joined_str,
        }

    # -- expressions -------------------------------------------------------------------------

    def interpret(self, node: ast.AST) -> Any:
        if time.monotonic() > self.deadline:
            if self.step_bound:
                raise deadline.overrun()
            raise _error(f"took longer than {MAX_SECONDS} seconds", node)
        handler = self.handlers.get(type(node))
        if handler is None:
            raise _error(f"{_describe(node)} is not allowed", node)
        try:
            return handler(node)
        except ExpressionError:
            raise
        except RecursionError:
            raise _error("nested too deeply", node) from None
        except Exception as exc:  # any failure of an operation becomes an ExpressionError
            raise _error(f"{type(exc).__name__}: {exc}", node) from None

    def _made(self, value: Any, node: ast.AST) -> Any:
        """Count a value this run made against MAX_RUN_UNITS (what it allocated: its own
        elements or characters, not those of the values it refers to)."""
        if isinstance(value, str | list | tuple | dict | set | frozenset):
            self.made += len(value) + 1
            if self.made > limits.MAX_RUN_UNITS:
                raise _error(
                    f"makes too much data: more than {limits.MAX_RUN_UNITS} elements and "
                    "characters in all",
                    node,
                )
        return value

    def _name(self, node: ast.Name) -> Any:
        if node.id in self.variables:
            return self.variables[node.id]
        if node.id in self.functions:
            return self.functions[node.id]
        raise _error(f"name '{node.id}' is not defined", node)

    def _set(self, node: ast.Set) -> set:
        # hashing an element costs its size: measure them all before any is hashed
        elements = _check_size([self.interpret(e) for e in node.elts], node)
        return self._made(_check_size(set(elements), node, measured=True), node)

    def _dict(self, node: ast.Dict) -> dict:
        pairs = zip(node.keys, node.values, strict=True)
        items = _check_size([(self.interpret(k), self.interpret(v)) for k, v in pairs], node)
        return self._made(_check_size(dict(items), node, measured=True), node)

    def _ifexp(self, node: ast.IfExp) -> Any:
        return self.interpret(node.body if self.interpret(node.test) else node.orelse)

    def _unary(self, node: ast.UnaryOp) -> Any:
        operand = self.interpret(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        if not isinstance(operand, int | float):
            raise _error(f"unary minus/plus needs a number, not {type(operand).__name__}", node)
        return -operand if isinstance(node.op, ast.USub) else +operand

    def _boolop(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value = None
        for operand in node.values:
            value = self.interpret(operand)
            if is_and and not value:
                return value
            if not is_and and value:
                return value
        return value

    def _compare(self, node: ast.Compare) -> bool:
        left = self.interpret(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.interpret(comparator)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def _subscript(self, node: ast.Subscript) -> Any:
        value = self.interpret(node.value)
        if isinstance(node.slice, ast.Slice):
            if not isinstance(value, _SEQUENCES):
                raise _error("slices are only allowed on str, list and tuple", node)
            parts = [
                None if part is None else self.interpret(part)
                for part in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            if any(part is not None and not _is_int(part) for part in parts):
                raise _error("slice bounds must be integers", node)
            return self._made(value[slice(*parts)], node)
        key = self.interpret(node.slice)
        if isinstance(value, dict):
            try:
                return value[key]
            except KeyError:
                raise _error(f"key {_short(key)} not found", node) from None
        if isinstance(value, _SEQUENCES):
            if not _is_int(key):
                raise _error(f"index must be an integer, not {type(key).__name__}", node)
            try:
                return value[key]
            except IndexError:
                raise _error(f"index {key} out of range", node) from None
        raise _error(
            f"subscripts are only allowed on str, list, tuple and dict, not {type(value).__name__}",
            node,
        )

    def _attribute(self, node: ast.Attribute) -> Any:
        value = self.interpret(node.value)
        if not isinstance(value, dict):
            raise _error(
                f"attribute access is only allowed on dicts ('.{node.attr}' on a "
                f"{type(value).__name__})",
                node,
            )
        return value.get(node.attr)

    def _call(self, node: ast.Call) -> Any:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name is None or name not in self.functions:
            raise _error(
                f"'{name or '...'}' cannot be called: function calls are limited to: "
                + _function_list(self.functions),
                node,
            )
        args = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise _error("*-unpacking of arguments is not allowed", node)
            args.append(self.interpret(arg))
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise _error("**-unpacking of arguments is not allowed", node)
            kwargs[kw.arg] = self.interpret(kw.value)
        try:
            result = self.functions[name](*args, **kwargs)
        except ExpressionError:
            raise
        except RecursionError:
            raise _error(f"{name}(): nested too deeply", node) from None
        except Exception as exc:
            raise _error(f"{name}(): {exc}", node) from None
        return self._made(_check_size(result, node), node)

    def _joined_str(self, node: ast.JoinedStr) -> str:
        parts = []
        total = 0
        for part in node.values:
            if isinstance(part, ast.Constant):
                text = str(part.value)
            elif isinstance(part, ast.FormattedValue):
                if part.format_spec is not None:
                    raise _error("format specs in f-strings are not supported", part)
                value = self.interpret(part.value)
                if part.conversion in (-1, ord("s")):
                    text = _safe_str(value)
                else:
                    if isinstance(value, list | tuple | dict | set | frozenset):
                        _check_render_size(value)
                    text = repr(value) if part.conversion == ord("r") else ascii(value)
            else:  # pragma: no cover - refused by validation
                raise _error(f"{_describe(part)} is not allowed", part)
            total += len(text)
            if total > MAX_SEQUENCE:
                raise _error(f"result longer than {MAX_SEQUENCE} characters", node)
            parts.append(text)
        return self._made("".join(parts), node)

    # -- statements --------------------------------------------------------------------------

    def run(self, statements: list[ast.stmt]) -> None:
        for stmt in statements:
            if isinstance(stmt, ast.Assign):
                value = self.interpret(stmt.value)
                for target in stmt.targets:
                    self._assign(target, value, stmt)
            elif isinstance(stmt, ast.AugAssign):
                self._augassign(stmt)
            elif isinstance(stmt, ast.If):
                self.run(stmt.body if self.interpret(stmt.test) else stmt.orelse)
            elif isinstance(stmt, ast.Expr):
                self.interpret(stmt.value)
            elif isinstance(stmt, ast.Pass):
                pass
            else:  # pragma: no cover - refused by validation
                raise _error(f"{_describe(stmt)} is not allowed", stmt)

    def _target_container(self, target: ast.Subscript | ast.Attribute, stmt: ast.stmt):
        container = self.interpret(target.value)
        if isinstance(target, ast.Attribute):
            key: Any = target.attr
        else:
            key = self.interpret(target.slice)
        if isinstance(container, dict):
            if not isinstance(key, str):
                raise _error(f"data keys must be strings, not {type(key).__name__}", stmt)
        elif isinstance(container, list) and isinstance(target, ast.Subscript):
            if not _is_int(key):
                raise _error(f"list index must be an integer, not {type(key).__name__}", stmt)
            if not -len(container) <= key < len(container):
                raise _error(f"list index {key} out of range", stmt)
        else:
            what = "a key" if isinstance(target, ast.Attribute) else "an item"
            raise _error(
                f"cannot set {what} on a {type(container).__name__}: attribute access is only "
                "allowed on dicts",
                stmt,
            )
        return container, key

    def _assign(self, target: ast.expr, value: Any, stmt: ast.stmt) -> None:
        assert self.writable is not None
        if isinstance(target, ast.Name):
            if target.id in self.functions:
                raise _error(f"cannot assign to '{target.id}': it is a function name", stmt)
            _check_json(value, stmt)
            self.writable[target.id] = value
            return
        container, key = self._target_container(target, stmt)
        _check_json(value, stmt, container)
        container[key] = value

    def _augassign(self, stmt: ast.AugAssign) -> None:
        target = stmt.target
        if isinstance(target, ast.Name):
            current = self._name(target)
            self._assign(target, _binop(stmt.op, current, self.interpret(stmt.value), stmt), stmt)
            return
        container, key = self._target_container(target, stmt)
        if isinstance(container, dict) and key not in container:
            raise _error(f"key {_short(key)} not found", stmt)
        try:
            new = _binop(stmt.op, container[key], self.interpret(stmt.value), stmt)
        except ExpressionError:
            raise
        except Exception as exc:
            raise _error(f"{type(exc).__name__}: {exc}", stmt) from None
        _check_json(new, stmt, container)
        container[key] = new


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str | int | float | bool) or value is None else "?"
    return text if len(text) <= 60 else text[:60] + "…"


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def evaluate(
    expression: str,
    variables: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]] = DEFAULT_FUNCTIONS,
) -> Any:
    """Evaluate a restricted expression against ``variables`` (read only)."""
    tree = _parse(expression, "eval", functions)
    try:
        return _Interpreter(variables, functions).interpret(tree.body)
    except RecursionError:
        raise ExpressionError("nested too deeply") from None


def execute(
    script: str,
    variables: dict[str, Any],
    functions: Mapping[str, Callable[..., Any]] = DEFAULT_FUNCTIONS,
    readonly: Mapping[str, Any] | None = None,
) -> None:
    """Run a restricted script; its assignments go into ``variables`` (all or nothing).

    ``readonly`` variables (SpiffWorkflow's data objects) can be read, and changes to them are
    dropped."""
    tree = _parse(script, "exec", functions)
    # Run on a copy so a failing script changes nothing; keys can only be added or replaced.
    # The read-only variables are copied too, so changes to them (d.k = 1) are simply dropped.
    work = copy.deepcopy(dict(variables))
    scope: Mapping[str, Any] = ChainMap(work, copy.deepcopy(dict(readonly))) if readonly else work
    try:
        _Interpreter(scope, functions, writable=work).run(tree.body)
    except RecursionError:
        raise ExpressionError("nested too deeply") from None
    variables.update(work)

"""Yuan and fen: the handoff's money helpers and its `to_fen` expression function."""

import pytest

from handoff.money import to_fen
from workflows.evaluator import DEFAULT_FUNCTIONS, ExpressionError, evaluate

FUNCTIONS = {**DEFAULT_FUNCTIONS, "to_fen": to_fen}


def test_to_fen_in_an_expression():
    assert evaluate("to_fen(amount)", {"amount": "1234.50"}, FUNCTIONS) == 123450


def test_to_fen_is_not_an_engine_function():
    with pytest.raises(ExpressionError, match="to_fen"):
        evaluate("to_fen(amount)", {"amount": "1.00"})


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [
        ("0", 0),
        ("5000", 500000),
        ("5000.00", 500000),
        ("5000.5", 500050),
        ("0.01", 1),
        (" 12.34 ", 1234),
        ("-3.10", -310),
        (7, 700),
        ("999999999999999.99", 99999999999999999),
    ],
)
def test_to_fen(yuan, fen):
    assert to_fen(yuan) == fen
    assert isinstance(to_fen(yuan), int)


@pytest.mark.parametrize(
    "bad",
    ["1.234", "1e3", "abc", "", "1,000", "NaN", "Infinity", ".5", "1.", "１２", True, 1.5, None],
)
def test_to_fen_refuses(bad):
    with pytest.raises(ValueError):
        to_fen(bad)
    with pytest.raises(ExpressionError, match=r"to_fen\(\)"):
        evaluate("to_fen(x)", {"x": bad}, FUNCTIONS)


def test_to_fen_never_uses_float():
    # 0.29 * 100 is 28.999999999999996 in floating point.
    assert to_fen("0.29") == 29
    assert to_fen("1.13") == 113

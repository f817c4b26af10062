"""bench/wire.py's `Wire`, for tests that count what reaches the database on its wire: the same
count that `bench/roundtrips.py` prints (bench/ is not a package, so it is loaded by path)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "bench" / "wire.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_wire", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Wire


Wire = _load()

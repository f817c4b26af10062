# Sourced by the scripts: make .venv with the project installed (again when pyproject changes).
# HANDOFF_VENV names a virtualenv that already has the project's dependencies instead: it is used
# as it is (nothing created or installed; the tests run scripts/serve that way).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${HANDOFF_VENV:-}" ]; then
  export PATH="$HANDOFF_VENV/bin:$PATH"
  return 0
fi
VENV="$ROOT/.venv"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)-${1:-base}"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  if [ "${1:-base}" = test ]; then
    "$VENV/bin/python" -m pip install -q -e "$ROOT[test]"
  else
    "$VENV/bin/python" -m pip install -q -e "$ROOT"
  fi
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"

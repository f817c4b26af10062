"""The service wrapped in a profiler, for `bench/load.py --profile`: gunicorn serves
`bench.profiled_app:app`; each worker profiles every request it serves with cProfile and writes
its statistics to $BENCH_PROFILE_DIR/worker-<pid>.prof when it exits. `bench/load.py` merges
them and prints where the server's CPU time went. The timer is the process's CPU time (waiting
for a lock or for the database costs nothing here); BENCH_PROFILE_WALL=1 profiles wall time.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import time
from pathlib import Path

from server import create_app

_profile = (
    cProfile.Profile()
    if os.environ.get("BENCH_PROFILE_WALL")
    else cProfile.Profile(time.process_time)
)
_app = create_app()


def app(environ, start_response):
    _profile.enable()
    try:
        body = _app(environ, start_response)
        return list(body)  # the response is produced inside the profiled block
    finally:
        _profile.disable()


@atexit.register
def _dump() -> None:
    out = os.environ.get("BENCH_PROFILE_DIR")
    if out:
        _profile.dump_stats(str(Path(out) / f"worker-{os.getpid()}.prof"))

"""One process of bench/load.py's login storm:

    python -m bench.load_worker CONNINFO TGT_CCACHE BEGIN OFFSET SECONDS RATE NUMBER

From the wall-clock time BEGIN + OFFSET, for SECONDS, it opens a libpq connection every
1/RATE seconds (late ones start at once, none are skipped), each with a fresh copy of the TGT
cache as its own cache, so each login asks a KDC for the service ticket. Prints one JSON
line: {"logins": [[seconds since BEGIN, connect seconds, ok], ...], "errors": [...]}.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    conninfo, tgt, begin, offset, seconds, rate, number = sys.argv[1:8]
    start, interval = float(begin), 1.0 / float(rate)
    cache = Path(tempfile.mkdtemp(prefix=f"pgrealm-storm-{number}-")) / "ccache"
    os.environ["KRB5CCNAME"] = f"FILE:{cache}"  # before libkrb5 is loaded
    from bench.libpq import ConnectError, Target, connect_seconds

    target = Target("storm", conninfo)
    logins: list[tuple[float, float, bool]] = []
    errors: list[str] = []
    n = 0
    try:
        while True:
            due = start + float(offset) + n * interval
            if due - start >= float(seconds):
                break
            time.sleep(max(0.0, due - time.time()))
            shutil.copyfile(tgt, cache)  # the TGT only: this login asks for its ticket
            at = time.time() - start
            try:
                logins.append((at, connect_seconds(target), True))
            except ConnectError as exc:
                logins.append((at, time.time() - start - at, False))
                errors.append(f"at {at:.2f} s: {str(exc)[:200]}")
            n += 1
    finally:
        shutil.rmtree(cache.parent, ignore_errors=True)
    print(json.dumps({"logins": logins, "errors": errors}))


if __name__ == "__main__":
    main()

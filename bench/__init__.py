"""`make bench`: measures a real pgrealm stack side by side with hand-made baselines.

Run as ``python -m bench`` (root, on the machine that runs pgrealm). Modules:

    stack.py      a pgrealm server of the benchmark's own (home, port, loopback block)
    seed_flow.py  the seed's flow through the aws CLI, each step timed
    handmade.py   a plain PostgreSQL configured by hand for GSSAPI against the same KDC
    libpq.py      libpq through ctypes: per-connection timings, SELECT 1 throughput
    kdc.py        AS/TGS exchanges per second, Samba's KDC vs an MIT krb5kdc
    krb5load.py   the load worker kdc.py runs (libkrb5 through ctypes)
    api.py        describe-* latency with 1, 10 and 100 real instances
    procmem.py    PSS of process trees from /proc
    report.py     the table and bench/results/latest.md

Nothing here is a test: pytest collects only tests/.
"""

from __future__ import annotations

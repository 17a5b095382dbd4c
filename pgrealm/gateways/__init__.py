"""Small interfaces to live systems, for services on the request path and reconcilers
alike: a directory's AD (directory.py) and PostgreSQL's settings catalog (parameters.py).
The server wires in the engine-backed classes; a service unit test passes a fake."""

from __future__ import annotations

__all__: list[str] = []

"""``python -m pgrealm``: the same as the ``pgrealm`` command."""

from __future__ import annotations

from pgrealm.cli.main import main

main()

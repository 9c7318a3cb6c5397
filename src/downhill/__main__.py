"""``python -m downhill``: the ``downhill`` command, exactly as the installed script runs it.

``python -m downhill serve --workers 2`` is ``downhill serve --workers 2``;
``python -m downhill --help`` lists the commands. The short demo in numbers
is ``python -m downhill.demo``.
"""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    main()

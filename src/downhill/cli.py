"""The ``downhill`` command (grows with the pictures issue); for now the tour in numbers."""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``downhill`` command."""
    from .__main__ import main as demo

    demo()

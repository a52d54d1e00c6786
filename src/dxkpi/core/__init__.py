"""Leaves: errors, fiscal year, atomic writes, locks, the project root.

Nothing in ``core`` imports another dxkpi package.
"""

__all__: list[str] = []

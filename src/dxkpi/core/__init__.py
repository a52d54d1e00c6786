"""Leaves: errors, fiscal year, labels' languages, atomic writes, locks, the project root. Imports nothing of dxkpi's."""

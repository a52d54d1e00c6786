"""The city's project folder: where it is and what its dxkpi.toml says."""

__all__: list[str] = []

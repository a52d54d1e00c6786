"""What is declared once: the data contract, the KPI registry, the label vocabulary."""

__all__: list[str] = []

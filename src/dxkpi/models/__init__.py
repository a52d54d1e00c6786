"""Statistical models: staggered DiD, contrasts, behaviour change, KPI→KGI links, skills."""

__all__: list[str] = []

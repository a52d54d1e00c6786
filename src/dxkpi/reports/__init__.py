"""What people see: report runner, views, charts, narrative text, HTML and workbooks."""

__all__: list[str] = []

"""Raw files → validated, pseudonymised processed data (and the reader of that data)."""

__all__: list[str] = []

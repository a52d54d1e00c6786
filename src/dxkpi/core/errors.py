"""Domain errors. Every error says what is wrong, where, and what to do — in Japanese and English.

The CLI turns a :class:`DxkpiError` into a two-language message and a non-zero exit code; library
code raises these instead of printing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConfigError", "ContractError", "DxkpiError", "IngestInvariantError", "Where"]


@dataclass(frozen=True)
class Where:
    """A location in the raw data: file, 1-based row as a spreadsheet shows it, column."""

    file: str | None = None
    row: int | None = None
    column: str | None = None

    def ja(self) -> str:
        parts = []
        if self.file:
            parts.append(f"ファイル {self.file}")
        if self.row is not None:
            parts.append(f"{self.row} 行目")
        if self.column:
            parts.append(f"列「{self.column}」")
        return "、".join(parts)

    def en(self) -> str:
        parts = []
        if self.file:
            parts.append(f"file {self.file}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)


class DxkpiError(Exception):
    """Base error: a Japanese and an English message, where it happened, and what to do."""

    def __init__(
        self,
        ja: str,
        en: str,
        *,
        where: Where | None = None,
        hint_ja: str = "",
        hint_en: str = "",
    ) -> None:
        self.ja = ja
        self.en = en
        self.where = where or Where()
        self.hint_ja = hint_ja
        self.hint_en = hint_en
        super().__init__(self.message())

    def message(self) -> str:
        """The full two-language message, Japanese first."""
        loc_ja, loc_en = self.where.ja(), self.where.en()
        ja = f"{loc_ja}: {self.ja}" if loc_ja else self.ja
        en = f"{loc_en}: {self.en}" if loc_en else self.en
        lines = [ja]
        if self.hint_ja:
            lines.append(f"  対処: {self.hint_ja}")
        lines.append(en)
        if self.hint_en:
            lines.append(f"  What to do: {self.hint_en}")
        return "\n".join(lines)


class ContractError(DxkpiError):
    """A raw file breaks a file-level rule of the data contract (unreadable, missing column…)."""


class IngestInvariantError(DxkpiError):
    """An internal invariant of ingestion failed (rows lost or duplicated, suites disagree)."""


class ConfigError(DxkpiError):
    """The project configuration (dxkpi.toml) is invalid."""

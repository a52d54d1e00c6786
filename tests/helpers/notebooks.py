"""Tiny report notebooks for runner tests: a parameters cell and one body cell."""

from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = ["PARAMS", "write_notebook"]

PARAMS = """fiscal_year: int = 2025  # 対象年度
data_dir: str = "data/processed"  # 取込済みデータ
output_dir: str = "reports/FY2025"  # 出力先
lang: str = "ja"  # 言語
min_cell_size: int = 10  # 最小セルサイズ
"""


def write_notebook(path: Path, body: str, params: str = PARAMS) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# テスト"), cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path

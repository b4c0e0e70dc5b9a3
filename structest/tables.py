"""Publication tables: :func:`regression_table` (Markdown, LaTeX, HTML through
maketables), the paper comparison table, and the maketables column helpers."""

from __future__ import annotations

from .reduced.maketables_plugin import TableColumn, html_text, tex_escape
from .reduced.tables import (
    ESTIMATOR_NAMES,
    TABLE_FORMATS,
    paper_comparison_table,
    regression_table,
    se_note,
    stars,
)

__all__ = [
    "ESTIMATOR_NAMES",
    "TABLE_FORMATS",
    "TableColumn",
    "html_text",
    "paper_comparison_table",
    "regression_table",
    "se_note",
    "stars",
    "tex_escape",
]

"""Reading a bench report's markdown tables in tests (imported as ``_report_cells``)."""

from __future__ import annotations


def cells(report_text: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for line in report_text.splitlines():
        parts = [p.strip() for p in line.strip("|").split("|")]
        if line.startswith("| ") and parts[0] == first:
            return parts
    raise AssertionError(f"no row {first!r} in\n{report_text}")

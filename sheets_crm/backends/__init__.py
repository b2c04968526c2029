"""Workbook backends: where a CRM lives (a local .xlsx file or a Google Sheet)."""

from .base import Workbook, open_workbook

__all__ = ["Workbook", "open_workbook"]

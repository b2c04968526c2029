"""The Google Sheets backend (gspread's HTTP client, one atomic batchUpdate per sync).

Import :mod:`.workbook` for :class:`GoogleWorkbook`; this package's own
namespace stays light so that telling a target apart costs no gspread import.
"""

from sheets_crm.backends.google.target import is_google_target, spreadsheet_id, spreadsheet_url

__all__ = ["is_google_target", "spreadsheet_id", "spreadsheet_url"]

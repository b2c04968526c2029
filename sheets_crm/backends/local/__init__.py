"""The local backend: a .xlsx/.xlsm workbook on disk."""

"""The command line: thin typer commands over :mod:`sheets_crm.app`."""

from sheets_crm.cli.main import app, main

__all__ = ["app", "main"]

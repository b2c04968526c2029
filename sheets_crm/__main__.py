"""``python -m sheets_crm``: the same command line as the ``sheets-crm`` script."""

from sheets_crm.cli.main import main

main()

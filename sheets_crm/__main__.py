from sheets_crm.cli.main import main

main()

"""The Sheets v4 stand-in: models, ranges, ``spreadsheets.get/create``, ``values.*``, ``batchUpdate`` request
kinds (cells and structure), rendering cells as Google sends them, and formula evaluation."""

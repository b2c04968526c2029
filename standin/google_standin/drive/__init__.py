"""The Drive v3 stand-in: files (with the ``q`` search language) and permissions."""

"""Case history, exports and break-glass over the API."""

"""Partner disputes over the API."""

"""Sign in and out over the API."""

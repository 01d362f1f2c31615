"""Deploying models over the API."""

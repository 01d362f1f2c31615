"""Shared by every API blueprint: bearer-token authentication and the marshmallow schemas."""

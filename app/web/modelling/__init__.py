"""Modeller pages: models, drafts, editors, review, migration, closure days."""

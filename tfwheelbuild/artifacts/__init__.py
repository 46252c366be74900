"""Wheels and what travels with them: metadata, repair documents, diff, deps bundles."""

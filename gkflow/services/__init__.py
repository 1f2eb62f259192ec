"""Use cases: each one a single database transaction."""

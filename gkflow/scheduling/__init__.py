"""Scheduling: the embedded APScheduler (gkflow serve) and Prefect deployments (gkflow deploy)."""

"""Delivery (投递): the outbox queue, channel settings and pool, the dispatcher, receipts, 12345 replies."""

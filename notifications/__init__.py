"""Notices for "where is my case": templates, rendering, SMS accounting, channels, delivery rules.

Imports nothing from gkflow; the engine passes plain mappings in. Entry points::

    from notifications.render import render            # (notice, channel, context) -> RenderedMessage
    from notifications.channels import build_channel    # (name, config) -> Channel
    from notifications.policy import Status, next_attempt_delay, give_up, release_time, RateLimiter
    from notifications.checks import check_sms_templates
"""

from notifications.errors import (
    BrokenTemplate,
    DeliveryError,
    MissingTemplateValue,
    NotificationError,
    PermanentFailure,
    RenderError,
    SmsTooLong,
    TechnicalFailure,
    TemporaryFailure,
    UnknownTemplate,
)
from notifications.message import RenderedMessage, SendReceipt
from notifications.notices import CHANNELS, NOTICES
from notifications.policy import Status

__all__ = [
    "CHANNELS",
    "NOTICES",
    "BrokenTemplate",
    "DeliveryError",
    "MissingTemplateValue",
    "NotificationError",
    "PermanentFailure",
    "RenderError",
    "RenderedMessage",
    "SendReceipt",
    "SmsTooLong",
    "Status",
    "TechnicalFailure",
    "TemporaryFailure",
    "UnknownTemplate",
]

"""Where staff notices go (红黄牌 warnings, failed publications): the `staff_notices` section of
config/channels.yaml. Without one, they go to the sandbox inbox addressed to the department."""

from __future__ import annotations

from dataclasses import dataclass, field

from gkflow.config.files import read_mapping
from gkflow.delivery.config import channels_file
from gkflow.domain.errors import InvalidConfig
from gkflow.settings import Settings


@dataclass(frozen=True)
class StaffNotices:
    channel: str = "sandbox"
    recipients: dict[str, str] = field(default_factory=dict)  # department -> recipient

    def recipient(self, department: str) -> str:
        """The department's recipient on the channel (its name unless one is configured)."""
        return self.recipients.get(department, department)


def staff_notices(settings: Settings) -> StaffNotices:
    """The staff-notice routing of the channels file."""
    path = channels_file(settings)
    spec = read_mapping(path).get("staff_notices") or {}
    if not isinstance(spec, dict):
        raise InvalidConfig(f"{path}: staff_notices must be a mapping (channel, recipients)")
    recipients = spec.get("recipients") or {}
    if not isinstance(recipients, dict):
        raise InvalidConfig(f"{path}: staff_notices.recipients maps a department to a recipient")
    return StaffNotices(str(spec.get("channel", "sandbox")), {str(k): str(v) for k, v in recipients.items()})

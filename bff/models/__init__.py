"""Every tortoise model of the `models` app. Each domain has its own module; list it here."""

from bff.models.notices import Notice, NoticeOpen, NoticeStatus
from bff.models.system import WorkerHeartbeat
from bff.models.users import User

__all__ = ["Notice", "NoticeOpen", "NoticeStatus", "User", "WorkerHeartbeat"]

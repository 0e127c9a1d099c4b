"""Every tortoise model of the `models` app. Each domain has its own module; list it here."""

from bff.models.system import WorkerHeartbeat
from bff.models.users import User

__all__ = ["User", "WorkerHeartbeat"]

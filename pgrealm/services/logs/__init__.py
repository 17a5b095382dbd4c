"""CloudWatch Logs (logs): log groups, and the events of the logs pgrealm exports."""

from pgrealm.services.logs.service import LogsService

__all__ = ["LogsService"]

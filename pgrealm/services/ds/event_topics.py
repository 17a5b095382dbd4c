"""Amazon SNS topics a directory publishes its status to: DescribeEventTopics,
RegisterEventTopic, DeregisterEventTopic.

RegisterEventTopic names "the Amazon SNS topic name to which the directory will publish
status messages", which "must be in the same region as the specified Directory ID"
(https://docs.aws.amazon.com/directoryservice/latest/devguide/API_RegisterEventTopic.html).
pgrealm has no SNS, so no topic exists: registering answers EntityDoesNotExistException
saying so, and no directory ever has a topic. DescribeEventTopics answers an empty list
(for one directory, or, without DirectoryId, "all of the associations in the account"),
and an empty TopicNames list is refused with InvalidParameterException, as the API
reference says; DeregisterEventTopic finds nothing to remove.
"""

from __future__ import annotations

import logging
from typing import Any

from pgrealm.services.context import RequestContext
from pgrealm.services.ds._mixin import DsMixin
from pgrealm.services.errors import ServiceError

__all__ = ["EventTopicsMixin"]

log = logging.getLogger(__name__)


class EventTopicsMixin(DsMixin):
    """The event topic operations, mixed into ``DsService``."""

    def describe_event_topics(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("DirectoryId"):
            self.get_directory(ctx, params["DirectoryId"])
        if "TopicNames" in params and not params["TopicNames"]:
            raise ServiceError(
                "InvalidParameterException",
                "TopicNames must name at least one topic; leave it out to describe all.",
            )
        return {"EventTopics": []}

    def register_event_topic(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id, topic = params["DirectoryId"], params["TopicName"]
        self.get_directory(ctx, directory_id)
        raise ServiceError(
            "EntityDoesNotExistException",
            f"Topic {topic} does not exist in {ctx.region}: pgrealm has no Amazon SNS topics, "
            f"so directory {directory_id} cannot publish its status to one.",
        )

    def deregister_event_topic(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id, topic = params["DirectoryId"], params["TopicName"]
        self.get_directory(ctx, directory_id)
        raise ServiceError(
            "EntityDoesNotExistException",
            f"Topic {topic} is not registered for directory {directory_id}.",
        )

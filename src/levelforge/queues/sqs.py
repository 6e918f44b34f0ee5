"""The SQS job queue (``JOBS_QUEUE_URL``): at-least-once delivery, long polling, batch
receive, a visibility timeout extended by the worker's heartbeat, and a dead-letter queue.

- ``receive`` takes up to 10 messages per request, hidden for ``VISIBILITY_TIMEOUT_SECONDS``
  (rounded up to whole seconds, as SQS counts them); ``deliveries`` is SQS's
  ``ApproximateReceiveCount``. Long polls last ``wait_seconds`` rounded up, at most 20.
- ``extend`` is ChangeMessageVisibility, ``release`` the same with 0, ``ack`` DeleteMessage.
  A stale receipt (the message was delivered again, or is gone) changes nothing.
- Redrive is SQS's own: the queue's RedrivePolicy moves a message received
  ``maxReceiveCount`` times (``MAX_DELIVERIES``, set by ``levelforge aws-init``) to the
  dead-letter queue. Its URL is found from that policy's ``deadLetterTargetArn`` (a
  dead-letter queue is in the same account and region, so its URL is the job queue's
  with the last segment replaced); the queue is refused at start without one. A dead
  letter reports ``deliveries = maxReceiveCount``, the count it died with (SQS keeps
  counting receives in the dead-letter queue).
"""

from __future__ import annotations

import json
import logging
import math
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from levelforge import aws
from levelforge.config import Settings
from levelforge.errors import ConfigurationError
from levelforge.ports import Message

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

logger = logging.getLogger(__name__)

MAX_BATCH = 10
MAX_WAIT_SECONDS = 20
MAX_VISIBILITY_SECONDS = 43200
#: what SQS answers for a receipt that no longer holds the message
STALE_RECEIPT_CODES = frozenset(
    {"ReceiptHandleIsInvalid", "InvalidParameterValue", "AWS.SimpleQueueService.MessageNotInflight",
     "MessageNotInflight"}
)


def _seconds(value: float, ceiling: int) -> int:
    return max(0, min(ceiling, math.ceil(value)))


def _answering(what: str) -> AbstractContextManager[None]:
    return aws.answering("SQS", what)


class SqsQueue:
    """``ports.JobQueue`` on the SQS queue at ``url`` and its dead-letter queue."""

    def __init__(
        self, client: SQSClient, url: str, *, dead_letter_url: str, max_deliveries: int,
        visibility_timeout: float,
    ) -> None:
        self.client = client
        self.url = url
        self.dead_letter_url = dead_letter_url
        self.max_deliveries = max_deliveries
        self.visibility_timeout = visibility_timeout

    def send(self, body: str) -> None:
        with _answering("SendMessage"):
            self.client.send_message(QueueUrl=self.url, MessageBody=body)

    def receive(self, max_messages: int = 1, wait_seconds: float = 0.0) -> list[Message]:
        return [
            Message(
                id=message["MessageId"], body=message["Body"], receipt=message["ReceiptHandle"],
                deliveries=int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
            for message in self._receive(self.url, max_messages, wait_seconds)
        ]

    def ack(self, message: Message) -> None:
        self._by_receipt("DeleteMessage", self.url, message)

    def release(self, message: Message) -> None:
        self._by_receipt("ChangeMessageVisibility", self.url, message, 0)

    def extend(self, message: Message, seconds: float) -> None:
        self._by_receipt(
            "ChangeMessageVisibility", self.url, message, _seconds(seconds, MAX_VISIBILITY_SECONDS)
        )

    def receive_dead(self, max_messages: int = 10, wait_seconds: float = 0.0) -> list[Message]:
        return [
            Message(
                id=message["MessageId"], body=message["Body"], receipt=message["ReceiptHandle"],
                deliveries=self.max_deliveries,
            )
            for message in self._receive(self.dead_letter_url, max_messages, wait_seconds)
        ]

    def ack_dead(self, message: Message) -> None:
        self._by_receipt("DeleteMessage", self.dead_letter_url, message)

    def close(self) -> None:
        self.client.close()

    def _receive(self, url: str, max_messages: int, wait_seconds: float) -> list[MessageTypeDef]:
        with _answering("ReceiveMessage"):
            answer = self.client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=max(1, min(MAX_BATCH, max_messages)),
                WaitTimeSeconds=_seconds(wait_seconds, MAX_WAIT_SECONDS),
                VisibilityTimeout=_seconds(self.visibility_timeout, MAX_VISIBILITY_SECONDS),
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        return list(answer.get("Messages", []))

    def _by_receipt(self, action: str, url: str, message: Message, visibility: int | None = None) -> None:
        with _answering(action):
            try:
                if visibility is None:
                    self.client.delete_message(QueueUrl=url, ReceiptHandle=message.receipt)
                else:
                    self.client.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message.receipt, VisibilityTimeout=visibility
                    )
            except ClientError as exc:
                if aws.error_code(exc) not in STALE_RECEIPT_CODES:
                    raise
                logger.debug("%s with a stale receipt of message %s: nothing changed", action, message.id)


def open_sqs_queue(settings: Settings, connection: aws.Connection | None = None) -> SqsQueue:
    """The queue at ``JOBS_QUEUE_URL``, checked at start: it exists and redrives to a
    dead-letter queue; else a ``ConfigurationError`` naming ``JOBS_QUEUE_URL``."""
    url = settings.jobs_queue_url or ""
    aws.queue_name_of(url)
    client = aws.client("sqs", "JOBS_QUEUE_URL", connection)
    try:
        attributes = aws.start_check(
            "JOBS_QUEUE_URL", f"GetQueueAttributes {url}",
            lambda: client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]),
        )
    except client.exceptions.QueueDoesNotExist as exc:
        raise ConfigurationError(
            f"JOBS_QUEUE_URL: there is no SQS queue at {url}; create it with `levelforge aws-init`"
        ) from exc
    except (ClientError, BotoCoreError) as exc:
        raise aws.start_check_failed("JOBS_QUEUE_URL", f"GetQueueAttributes {url}", exc) from exc
    policy = attributes.get("Attributes", {}).get("RedrivePolicy")
    if not policy:
        raise ConfigurationError(
            f"JOBS_QUEUE_URL: the queue {url} has no dead-letter queue (RedrivePolicy); "
            "`levelforge aws-init` sets one"
        )
    redrive = json.loads(policy)
    max_deliveries = int(redrive["maxReceiveCount"])
    if max_deliveries != settings.max_deliveries:
        logger.warning(
            "MAX_DELIVERIES is %d but the queue redrives after %d receives; the queue's policy applies",
            settings.max_deliveries, max_deliveries,
        )
    dead_letter_name = str(redrive["deadLetterTargetArn"]).rsplit(":", 1)[-1]
    return SqsQueue(
        client, url, dead_letter_url=aws.sibling_queue_url(url, dead_letter_name),
        max_deliveries=max_deliveries, visibility_timeout=settings.visibility_timeout_seconds,
    )

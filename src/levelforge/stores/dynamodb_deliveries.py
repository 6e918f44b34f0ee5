"""Webhook deliveries on the DynamoDB job table (issue 19), without a new index.

A job with a webhook has ``webhookUrl`` on its item. Its terminal write is then one
``TransactWriteItems`` of two items: the job's conditional update and the delivery item
``hook#<id>`` (``attribute_not_exists(pk)``), so a terminal job's delivery is never lost. A
job without a webhook keeps its single ``UpdateItem``: the terminal write carries the
condition ``attribute_not_exists(webhookUrl)``, and only when that refuses it (the old item
it answers with has a webhook) is the transaction written instead.

The delivery item is found through the table's ``byTenantStatus`` index (keys only): its
``status`` is ``webhook`` while pending, a partition no job status ever uses, and its
``tenantCreatedKey`` is the time it is due (``<epoch ms, 15 digits>#<job id>``), so a
``Query`` of the partition up to now reads the keys of the due deliveries only. A claim is
a conditional ``UpdateItem`` that moves the due key to the end of the lease (compare and
set on the key it saw); a delivered or abandoned one loses its ``status`` and leaves the
index. ``expiresAt`` is its job's, so TTL deletes both together.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from levelforge import aws
from levelforge.errors import StoreUnavailable
from levelforge.jobs import Job
from levelforge.ports import Delivery, DeliveryAttempt, DeliveryLog, DeliveryState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

#: the ``status`` of a pending delivery item: its partition of ``byTenantStatus``
PENDING_PARTITION = "webhook"
URL_ATTRIBUTE = "webhookUrl"
#: claims read at most this many due keys per Query
QUERY_PAGE = 100


def hook_key(job_id: str) -> dict[str, Any]:
    return {aws.TABLE_KEY: {"S": f"hook#{job_id}"}}


def due_key(at: float, job_id: str) -> str:
    return f"{int(at * 1000):015d}#{job_id}"


def delivery_item(job: Job, now: float, expires_at: int) -> dict[str, Any]:
    """The pending delivery of a job that is becoming terminal, due now."""
    return {
        **hook_key(job.id),
        "jobId": {"S": job.id}, "url": {"S": job.webhook_url or ""},
        "status": {"S": PENDING_PARTITION}, "tenantCreatedKey": {"S": due_key(now, job.id)},
        "hookCreatedAt": {"N": repr(now)}, "attempts": {"N": "0"}, "log": {"L": []},
        aws.TTL_ATTRIBUTE: {"N": str(expires_at)},
    }


class DynamoDeliveries:
    """``ports.DeliveryStore`` on the job table; mixed into ``DynamoJobStore``."""

    client: DynamoDBClient
    _table: str
    on_delivery_recorded: Callable[[], None] | None = None

    def claim_deliveries(self, now: float, lease_until: float, limit: int) -> list[Delivery]:
        with aws.answering("DynamoDB job table", "Query (due webhooks)"):
            keys = self.client.query(
                TableName=self._table, IndexName=aws.TENANT_STATUS_INDEX,
                KeyConditionExpression="#status = :pending AND #due <= :now",
                ExpressionAttributeNames={"#status": "status", "#due": "tenantCreatedKey"},
                ExpressionAttributeValues={
                    ":pending": {"S": PENDING_PARTITION}, ":now": {"S": due_key(now, "~")},
                },
                Limit=min(limit, QUERY_PAGE),
            )["Items"]
        claimed = []
        for key in keys:
            seen = key["tenantCreatedKey"]["S"]
            job_id = seen.split("#", 1)[1]
            delivery = self._claim(job_id, seen, due_key(lease_until, job_id))
            if delivery is not None:
                claimed.append(delivery)
        return claimed

    def _claim(self, job_id: str, seen: str, lease: str) -> Delivery | None:
        with aws.answering("DynamoDB job table", "UpdateItem (claim webhook)"):
            try:
                item = self.client.update_item(
                    TableName=self._table, Key=hook_key(job_id),
                    UpdateExpression="SET #due = :lease",
                    ConditionExpression="#status = :pending AND #due = :seen",
                    ExpressionAttributeNames={"#status": "status", "#due": "tenantCreatedKey"},
                    ExpressionAttributeValues={
                        ":pending": {"S": PENDING_PARTITION}, ":seen": {"S": seen}, ":lease": {"S": lease},
                    },
                    ReturnValues="ALL_NEW",
                )["Attributes"]
            except self.client.exceptions.ConditionalCheckFailedException:
                return None  # another Orchestrator claimed it, or it was delivered meanwhile
        return Delivery(
            job_id=job_id, url=item["url"]["S"], created_at=float(item["hookCreatedAt"]["N"]),
            attempts=int(item["attempts"]["N"]), lease=lease,
        )

    def record_attempt(
        self, delivery: Delivery, attempt: DeliveryAttempt, state: DeliveryState, next_at: float
    ) -> None:
        """One conditional write while the claim holds (a 2xx: while the item exists);
        when the claim was lost, the attempt is still appended to the log."""
        entry = {":entry": {"L": [{"S": attempt.model_dump_json(by_alias=True)}]}, ":one": {"N": "1"}}
        append = "SET #log = list_append(#log, :entry) ADD #attempts :one"
        names = {"#log": "log", "#attempts": "attempts"}
        if state is DeliveryState.PENDING:
            settle = "SET #log = list_append(#log, :entry), #due = :next ADD #attempts :one"
            settle_names = {**names, "#due": "tenantCreatedKey"}
            settle_values = {**entry, ":next": {"S": due_key(next_at, delivery.job_id)}}
        else:
            settle = (
                "SET #log = list_append(#log, :entry), #outcome = :state REMOVE #status ADD #attempts :one"
            )
            settle_names = {**names, "#outcome": "outcome", "#status": "status"}
            settle_values = {**entry, ":state": {"S": state.value}}
        if state is DeliveryState.DELIVERED:
            condition = "attribute_exists(#log)"
        else:
            condition = "#due = :lease"
            settle_names["#due"] = "tenantCreatedKey"
            settle_values[":lease"] = {"S": delivery.lease}
        if not self._update_hook(delivery.job_id, settle, settle_names, settle_values, condition):
            self._update_hook(delivery.job_id, append, names, entry, "attribute_exists(#log)")

    def _update_hook(
        self, job_id: str, expression: str, names: dict[str, str], values: dict[str, Any], condition: str
    ) -> bool:
        """False when the condition refused the write."""
        with aws.answering("DynamoDB job table", "UpdateItem (webhook attempt)"):
            try:
                self.client.update_item(
                    TableName=self._table, Key=hook_key(job_id), UpdateExpression=expression,
                    ConditionExpression=condition, ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except self.client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def delivery_log(self, job_id: str) -> DeliveryLog | None:
        with aws.answering("DynamoDB job table", "GetItem (webhook)"):
            item = self.client.get_item(TableName=self._table, Key=hook_key(job_id), ConsistentRead=True)
        found = item.get("Item")
        if not found:
            return None
        if "status" in found:
            state = DeliveryState.PENDING
        else:
            state = DeliveryState(found.get("outcome", {}).get("S", DeliveryState.PENDING.value))
        attempts = [DeliveryAttempt.model_validate_json(entry["S"]) for entry in found["log"]["L"]]
        return DeliveryLog(state=state, attempts=attempts)

    def _transact_terminal(self, update: dict[str, Any], job: Job, expires_at: int) -> Any:
        """The terminal update of a job with a webhook and its delivery, in one transaction;
        ``None`` when written, else the cancellation reason of the job's update (its
        ``Item`` is the job as it was). A conflicting transaction is tried again."""
        put = {
            "TableName": self._table, "Item": delivery_item(job, time.time(), expires_at),
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": aws.TABLE_KEY},
        }
        for attempt in range(10):
            with aws.answering("DynamoDB job table", "TransactWriteItems (terminal, webhook)"):
                try:
                    self.client.transact_write_items(
                        TransactItems=[{"Update": update}, {"Put": put}],  # type: ignore[typeddict-item]
                        ClientRequestToken=uuid.uuid4().hex,
                    )
                except self.client.exceptions.TransactionCanceledException as exc:
                    reasons: list[dict[str, Any]] = aws.response_of(exc).get("CancellationReasons", [])
                    if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                        return reasons[0]
                    if not any(reason.get("Code") == "TransactionConflict" for reason in reasons):
                        raise
                    time.sleep(0.005 * 2**attempt)
                    continue
            if self.on_delivery_recorded is not None:
                self.on_delivery_recorded()
            return None
        raise StoreUnavailable(f"DynamoDB job table: job {job.id}'s terminal write stayed contended")

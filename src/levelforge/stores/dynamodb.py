"""The DynamoDB job store: one table (``JOBS_TABLE``), every life-cycle rule one
conditional write.

Items, by their key ``pk``:

- ``job#<id>``: the job. ``spec`` and ``error`` as JSON strings, ``steps`` a list of JSON
  strings in arrival order, ``stepIds`` a string set, ``resultGz`` the result as gzip'd
  JSON (binary), ``expiresAt`` (epoch seconds, the table's TTL) once terminal;
  ``tenant`` (whose job it is, CONTRACT §10), ``createdKey`` (``<createdAt>#<id>``) and
  ``tenantCreatedKey`` (``<tenant>#<createdAt>#<id>``) feed the two keys-only indexes:
  ``byTenant`` (tenant, createdKey) and ``byTenantStatus`` (status, tenantCreatedKey, read
  between ``<tenant>#`` and ``<tenant>#~``). ``GET /jobs`` is a Query on one of them and a
  BatchGetItem, never a Scan; one tenant's query never reads another's keys.
- ``key#<tenant>#<Idempotency-Key>``: ``fingerprint`` and ``jobId``, ``expiresAt`` 24 h
  on. Written in one transaction with its job, so a key never points at a missing job.
- ``count#<tenant>#<minute>``: ``count``, the tenant's job creations in that minute
  (``RATE_LIMIT_PER_MINUTE``), one conditional ``ADD``; gone by TTL.

TTL deletes an expired item lazily (within days): a job whose ``expiresAt`` has passed is
``JobNotFound`` on every read before that. A job's ``requeueAt`` (epoch seconds) is set by
``claim_requeue`` (``requeuer.py``), which finds queued jobs on ``byTenantStatus``.

A refused condition answers with the item as it was (``ReturnValuesOnConditionCheckFailure
=ALL_OLD``), which says why without a second read: no item (``JobNotFound``), a terminal
job (``JobTerminal``, first, even for a step it holds), or a step already recorded
(``StepAlreadyRecorded``). Every other AWS error is ``StoreUnavailable``, after the SDK's
standard retries.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from levelforge import aws
from levelforge.config import Settings
from levelforge.errors import (
    ConfigurationError,
    IdempotencyKeyReused,
    JobNotFound,
    JobTerminal,
    LevelforgeError,
    StepAlreadyRecorded,
    StoreUnavailable,
)
from levelforge.jobs import (
    DEFAULT_TENANT,
    TERMINAL,
    IdempotencyClaim,
    Job,
    JobFailure,
    JobStatus,
    ResultJson,
    Step,
)
from levelforge.ports import Created, JobJson, PageAfter
from levelforge.stores.dynamodb_deliveries import URL_ATTRIBUTE, DynamoDeliveries

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

Item = Mapping[str, Any]

#: how long a terminal job is kept before DynamoDB's TTL deletes it (``JOB_RETENTION_DAYS``)
RETENTION_DAYS = 30.0
#: an Idempotency-Key is honoured at least this long (CONTRACT §2: 24 hours)
IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 60 * 60
#: a job's result is at most this big, gzip'd: the item stays far under DynamoDB's 400 KB
RESULT_MAX_BYTES = 200 * 1024
#: an error (message and details) is stored at most this big, as JSON
ERROR_MAX_BYTES = 16 * 1024
#: same-key creates that collide in a transaction look again this many times
INSERT_ATTEMPTS = 10
#: above every character of ``<createdAt>#<id>``: the end of a tenant's keys in an index
_END = "~"
#: a creation counter is kept this long after its minute (TTL)
COUNT_TTL_SECONDS = 10 * 60

_NAMES = {
    "#pk": aws.TABLE_KEY, "#status": "status", "#steps": "steps", "#stepIds": "stepIds",
    "#updatedAt": "updatedAt", "#result": "resultGz", "#error": "error",
    "#expiresAt": aws.TTL_ATTRIBUTE, "#tenant": "tenant", "#createdKey": "createdKey",
    "#tenantCreatedKey": "tenantCreatedKey", "#fingerprint": "fingerprint", "#count": "count",
    "#requeueAt": "requeueAt",
}
_APPEND_STEP = (
    "ADD #stepIds :sidSet SET #steps = list_append(if_not_exists(#steps, :empty), :newStep), "
    "#updatedAt = :now, #status = :running"
)


def _names(*placeholders: str) -> dict[str, str]:
    return {placeholder: _NAMES[placeholder] for placeholder in placeholders}


def _s(value: str) -> dict[str, Any]:
    return {"S": value}


def _job_key(job_id: str) -> dict[str, Any]:
    return {aws.TABLE_KEY: _s(f"job#{job_id}")}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=16)
def _step_condition(
    allowed_from: frozenset[JobStatus], start_from: frozenset[JobStatus]
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``(condition, values)`` of a step write: the job exists, its status is none of those
    outside ``allowed_from`` (for the rules of ``jobs``: ``#status <> :done AND #status <>
    :failed``), and the stepId is new. The write sets ``running`` unconditionally, which is
    right only when every allowed status other than ``running`` is a start status."""
    if not allowed_from - start_from <= {JobStatus.RUNNING}:
        raise ValueError("a step may only keep a job running or start it")
    refused = sorted(set(JobStatus) - allowed_from)
    values = tuple((f":not_{status.value}", status.value) for status in refused)
    parts = ["attribute_exists(#pk)"]
    if values:
        parts.append("(" + " AND ".join(f"#status <> {placeholder}" for placeholder, _ in values) + ")")
    parts.append("(attribute_not_exists(#stepIds) OR NOT contains(#stepIds, :sid))")
    return " AND ".join(parts), values


def _pack(result: Mapping[str, Any] | ResultJson) -> bytes:
    text = bytes(result) if isinstance(result, ResultJson) else _dumps(result).encode()
    return gzip.compress(text, compresslevel=6, mtime=0)


def _bounded(error: JobFailure) -> JobFailure:
    """The error as stored: a message and details too big for an item are cut short."""
    if len(error.model_dump_json(by_alias=True).encode()) <= ERROR_MAX_BYTES:
        return error
    return JobFailure(
        message=error.message[: ERROR_MAX_BYTES // 8], code=error.code,
        details={"truncated": True} if error.details is not None else None,
    )


def _result_too_large(size: int) -> JobFailure:
    return JobFailure(
        message=f"The job's result is {size} bytes compressed, over the job store's limit of "
        f"{RESULT_MAX_BYTES}; configure ARTIFACTS_BUCKET and a smaller INLINE_MAX_BYTES so that "
        "artifacts are stored in the bucket instead of inline.",
        code="result_too_large",
        details={"bytes": size, "limit": RESULT_MAX_BYTES},
    )


def item_of(job: Job, expires_at: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_job_key(job.id),
        "id": _s(job.id), "status": _s(job.status.value), "spec": _s(_dumps(job.spec)),
        "createdAt": _s(job.created_at), "updatedAt": _s(job.updated_at),
        "tenant": _s(job.tenant), "createdKey": _s(f"{job.created_at}#{job.id}"),
        "tenantCreatedKey": _s(f"{job.tenant}#{job.created_at}#{job.id}"),
        "steps": {"L": [_s(step.model_dump_json(by_alias=True)) for step in job.steps]},
    }
    if job.steps:
        item["stepIds"] = {"SS": [step.step_id for step in job.steps]}
    if job.result is not None:
        item["resultGz"] = {"B": _pack(job.result)}
    if job.error is not None:
        item["error"] = _s(_bounded(job.error).model_dump_json(by_alias=True))
    if job.webhook_url is not None:
        item[URL_ATTRIBUTE] = _s(job.webhook_url)
    if expires_at is not None:
        item[aws.TTL_ATTRIBUTE] = {"N": str(expires_at)}
    return item


def job_of(item: Item) -> Job:
    return Job(
        id=item["id"]["S"],
        status=JobStatus(item["status"]["S"]),
        spec=json.loads(item["spec"]["S"]),
        created_at=item["createdAt"]["S"],
        updated_at=item["updatedAt"]["S"],
        steps=[Step.model_validate_json(step["S"]) for step in item.get("steps", {}).get("L", [])],
        result=json.loads(gzip.decompress(item["resultGz"]["B"])) if "resultGz" in item else None,
        error=JobFailure.model_validate_json(item["error"]["S"]) if "error" in item else None,
        tenant=item.get("tenant", {}).get("S", DEFAULT_TENANT),
        webhook_url=item[URL_ATTRIBUTE]["S"] if URL_ATTRIBUTE in item else None,
    )


class _HasWebhook(Exception):
    """A signal between two methods of the store, never raised out of it."""

    def __init__(self, item: Item) -> None:
        super().__init__("the job has a webhook")
        self.item = item


def _open_with_hook(item: Item, update: Mapping[str, Any]) -> bool:
    """The old item of a refused terminal write was refused for its webhook alone: it is
    live, has a webhook, and its status is one the write allows."""
    values = update["ExpressionAttributeValues"]
    allowed = {value["S"] for key, value in values.items() if key.startswith(":from_")}
    return URL_ATTRIBUTE in item and not expired(item) and item.get("status", {}).get("S") in allowed


def _answering(what: str) -> AbstractContextManager[None]:
    return aws.answering("DynamoDB job table", what)


def _old_item(exc: ClientError) -> Item | None:
    """The item as it was when a condition refused a write (``ALL_OLD``), if any."""
    item: Item | None = aws.response_of(exc).get("Item")
    return item


def expired(item: Item, now: float | None = None) -> bool:
    """The item's ``expiresAt`` has passed (TTL has not deleted it yet)."""
    expires = item.get(aws.TTL_ATTRIBUTE)
    return expires is not None and int(expires["N"]) < (time.time() if now is None else now)


def _refusal(item: Item | None, job_id: str, step_id: str | None) -> LevelforgeError:
    """Why a conditional write was refused, from the item as it was (ALL_OLD)."""
    if not item or expired(item):
        return JobNotFound(job_id)
    job = job_of(item)
    if job.terminal:
        return JobTerminal(job)
    if step_id is not None and step_id in item.get("stepIds", {}).get("SS", []):
        return StepAlreadyRecorded(job_id, step_id, job.status)
    return JobTerminal(job)  # a status outside the allowed ones: refused like a terminal job


class DynamoJobStore(DynamoDeliveries):
    """``ports.JobStore`` and ``ports.DeliveryStore`` on the DynamoDB table ``table`` (made
    by ``levelforge aws-init``)."""

    def __init__(
        self, client: DynamoDBClient, table: str, *, retention_days: float = RETENTION_DAYS
    ) -> None:
        if retention_days * 86400 < IDEMPOTENCY_KEY_TTL_SECONDS:
            raise ConfigurationError("JOB_RETENTION_DAYS: must be at least 1 (idempotency keys live 24 h)")
        self.client = client
        self._table = table
        self._retention_seconds = retention_days * 86400

    def insert(self, job: Job, claim: IdempotencyClaim | None = None) -> Created:
        item = item_of(job, self._expiry() if job.terminal else None)
        if claim is None:
            with _answering("PutItem"):
                self.client.put_item(
                    TableName=self._table, Item=item,
                    ConditionExpression="attribute_not_exists(#pk)", ExpressionAttributeNames=_names("#pk"),
                )
            return Created(job, replayed=False)
        for attempt in range(INSERT_ATTEMPTS):
            held = self._insert_claiming(item, job.id, job.tenant, claim)
            if held is None:
                return Created(job, replayed=False)
            if held:
                return self._replay(held, claim)
            time.sleep(0.005 * 2**attempt)  # a same-key create in flight: look again
        raise StoreUnavailable(f"DynamoDB job table: Idempotency-Key {claim.key!r} stayed contended")

    def replay_of(self, tenant: str, claim: IdempotencyClaim) -> Job | None:
        with _answering("GetItem (idempotency key)"):
            key = {aws.TABLE_KEY: _s(f"key#{tenant}#{claim.key}")}
            found = self.client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        key_item = found.get("Item")
        if not key_item or int(key_item[aws.TTL_ATTRIBUTE]["N"]) < time.time():
            return None
        try:
            return self._replay(key_item, claim).job
        except JobNotFound:
            return None

    def get(self, job_id: str) -> Job:
        with _answering("GetItem"):
            item = self.client.get_item(TableName=self._table, Key=_job_key(job_id), ConsistentRead=True)
        if "Item" not in item or expired(item["Item"]):
            raise JobNotFound(job_id)
        return job_of(item["Item"])

    def get_json(self, job_id: str) -> JobJson:
        job = self.get(job_id)
        return JobJson(tenant=job.tenant, status=job.status, data=job.model_dump_json(by_alias=True).encode())
    def queued_before(self, created_before: str, limit: int) -> list[str]:
        """A Query of ``byTenantStatus``'s ``queued`` partition (keys only; sorted by
        tenant first, so every queued key is read and the old ones kept)."""
        found: list[str] = []
        start: dict[str, Any] = {}
        while len(found) < limit:
            with _answering("Query (queued jobs)"):
                page = self.client.query(
                    TableName=self._table, IndexName=aws.TENANT_STATUS_INDEX,
                    KeyConditionExpression="#status = :queued", ExpressionAttributeNames=_names("#status"),
                    ExpressionAttributeValues={":queued": _s(JobStatus.QUEUED.value)}, **start,
                )
            for key in page["Items"]:
                _tenant, created_at, job_id = key["tenantCreatedKey"]["S"].split("#", 2)
                if created_at < created_before:
                    found.append(job_id)
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        return found[:limit]

    def claim_requeue(self, job_id: str, now: float, next_at: float) -> Job | None:
        with _answering("UpdateItem (requeue)"):
            try:
                updated = self.client.update_item(
                    TableName=self._table, Key=_job_key(job_id), UpdateExpression="SET #requeueAt = :next",
                    ConditionExpression="attribute_exists(#pk) AND #status = :queued AND "
                    "(attribute_not_exists(#requeueAt) OR #requeueAt <= :now)",
                    ExpressionAttributeNames=_names("#pk", "#status", "#requeueAt"),
                    ExpressionAttributeValues={
                        ":next": {"N": repr(next_at)}, ":now": {"N": repr(now)},
                        ":queued": _s(JobStatus.QUEUED.value),
                    },
                    ReturnValues="ALL_NEW",
                )
            except self.client.exceptions.ConditionalCheckFailedException:
                return None
        return job_of(updated["Attributes"])

    def page(
        self, tenant: str, status: JobStatus | None, limit: int, after: PageAfter | None
    ) -> list[Job]:
        last = f"{after.created_at}#{after.job_id}" if after is not None else None
        if status is None:
            index, condition = aws.TENANT_INDEX, "#tenant = :tenant"
            names, values = _names("#tenant"), {":tenant": _s(tenant)}
            if last is not None:
                condition += " AND #createdKey < :after"
                names |= _names("#createdKey")
                values[":after"] = _s(last)
        else:
            # BETWEEN is inclusive: the cursor's own job is dropped below
            index = aws.TENANT_STATUS_INDEX
            condition = "#status = :status AND #tenantCreatedKey BETWEEN :lo AND :hi"
            names = _names("#status", "#tenantCreatedKey")
            values = {
                ":status": _s(status.value), ":lo": _s(f"{tenant}#"),
                ":hi": _s(f"{tenant}#{last if last is not None else _END}"),
            }
        with _answering("Query"):
            keys = self.client.query(
                TableName=self._table, IndexName=index, KeyConditionExpression=condition,
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ScanIndexForward=False, Limit=limit + 1 if status is not None and last is not None else limit,
            )["Items"]
        after_pk = f"job#{after.job_id}" if after is not None else None
        pks = [key[aws.TABLE_KEY]["S"] for key in keys if key[aws.TABLE_KEY]["S"] != after_pk][:limit]
        found = self._get_many(pks) if pks else {}
        # an index is eventually consistent: a job that just changed status is left out
        return [
            found[pk] for pk in pks
            if pk in found and status in (None, found[pk].status) and found[pk].tenant == tenant
        ]

    def count_creation(self, tenant: str, window: int, limit: int, delta: int = 1) -> bool:
        values: dict[str, Any] = {
            ":delta": {"N": str(delta)}, ":expires": {"N": str((window + 1) * 60 + COUNT_TTL_SECONDS)},
        }
        condition: dict[str, Any] = {}
        if delta > 0:
            condition["ConditionExpression"] = "attribute_not_exists(#count) OR #count <= :room"
            values[":room"] = {"N": str(limit - delta)}
        with _answering("UpdateItem (creation count)"):
            try:
                self.client.update_item(
                    TableName=self._table, Key={aws.TABLE_KEY: _s(f"count#{tenant}#{window}")},
                    UpdateExpression="ADD #count :delta SET #expiresAt = :expires",
                    ExpressionAttributeNames=_names("#count", "#expiresAt"),
                    ExpressionAttributeValues=values, **condition,
                )
            except self.client.exceptions.ConditionalCheckFailedException:
                return False
        return True

    def append_step(
        self, job_id: str, step: Step, *, allowed_from: frozenset[JobStatus],
        start_from: frozenset[JobStatus], now: str,
    ) -> JobStatus:
        condition, refused = _step_condition(allowed_from, start_from)
        with _answering("UpdateItem (step)"):
            try:
                self.client.update_item(
                    TableName=self._table, Key=_job_key(job_id),
                    UpdateExpression=_APPEND_STEP, ConditionExpression=condition,
                    ExpressionAttributeNames=_names(
                        "#pk", "#status", "#steps", "#stepIds", "#updatedAt"
                    ),
                    ExpressionAttributeValues={
                        **{placeholder: _s(value) for placeholder, value in refused},
                        ":sidSet": {"SS": [step.step_id]}, ":sid": _s(step.step_id),
                        ":newStep": {"L": [_s(step.model_dump_json(by_alias=True))]},
                        ":empty": {"L": []}, ":now": _s(now), ":running": _s(JobStatus.RUNNING.value),
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except self.client.exceptions.ConditionalCheckFailedException as exc:
                raise _refusal(_old_item(exc), job_id, step.step_id) from exc
        return JobStatus.RUNNING

    def transition(
        self, job_id: str, *, to: JobStatus, allowed_from: frozenset[JobStatus], now: str,
        result: dict[str, Any] | ResultJson | None = None, error: JobFailure | None = None,
    ) -> Job:
        sets = ["#status = :to", "#updatedAt = :now"]
        values: dict[str, Any] = {":to": _s(to.value), ":now": _s(now)}
        if result is not None:
            packed = _pack(result)
            if len(packed) > RESULT_MAX_BYTES:
                return self.transition(
                    job_id, to=JobStatus.FAILED, allowed_from=allowed_from, now=now,
                    error=_result_too_large(len(packed)),
                )
            sets.append("#result = :result")
            values[":result"] = {"B": packed}
        if error is not None:
            sets.append("#error = :error")
            values[":error"] = _s(_bounded(error).model_dump_json(by_alias=True))
        expires_at = self._expiry()
        if to in TERMINAL:
            sets.append("#expiresAt = :expires")
            values[":expires"] = {"N": str(expires_at)}
        allowed = [f":from_{status.value}" for status in sorted(allowed_from)]
        values.update({f":from_{status.value}": _s(status.value) for status in allowed_from})
        names = _names("#pk", *(part.split()[0] for part in sets))
        update: dict[str, Any] = {
            "TableName": self._table, "Key": _job_key(job_id), "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": f"attribute_exists(#pk) AND #status IN ({', '.join(allowed)})",
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if to not in TERMINAL:
            return self._update_job(update, job_id)
        # a job with a webhook is refused here and written with its delivery instead
        plain = {
            **update,
            "ConditionExpression": update["ConditionExpression"] + " AND attribute_not_exists(#hook)",
            "ExpressionAttributeNames": {**names, "#hook": URL_ATTRIBUTE},
        }
        try:
            return self._update_job(plain, job_id)
        except _HasWebhook as hooked:
            before = job_of(hooked.item)
        refused = self._transact_terminal(update, before, expires_at)
        if refused is not None:
            raise _refusal(refused.get("Item"), job_id, None)
        # what ALL_NEW would have answered (a transaction answers nothing)
        changed: dict[str, Any] = {"status": to, "updated_at": now}
        if result is not None and not isinstance(result, ResultJson):
            changed["result"] = result
        if error is not None:
            changed["error"] = _bounded(error)
        return before.model_copy(update=changed)

    def _update_job(self, update: dict[str, Any], job_id: str) -> Job:
        """The job's conditional update; ``_HasWebhook`` when only its webhook refused it."""
        with _answering("UpdateItem (transition)"):
            try:
                updated = self.client.update_item(**update, ReturnValues="ALL_NEW")
            except self.client.exceptions.ConditionalCheckFailedException as exc:
                old = _old_item(exc)
                if old and URL_ATTRIBUTE in update["ExpressionAttributeNames"].values() and _open_with_hook(
                    old, update
                ):
                    raise _HasWebhook(old) from exc
                raise _refusal(old, job_id, None) from exc
        return job_of(updated["Attributes"])

    def ping(self) -> None:
        with _answering("GetItem (ping)"):
            self.client.get_item(
                TableName=self._table, Key={aws.TABLE_KEY: _s("ping")}, ProjectionExpression="#pk",
                ExpressionAttributeNames=_names("#pk"),
            )

    def close(self) -> None:
        self.client.close()

    def _expiry(self) -> int:
        return int(time.time() + self._retention_seconds)

    def _insert_claiming(
        self, item: dict[str, Any], job_id: str, tenant: str, claim: IdempotencyClaim
    ) -> Item | None:
        """One transaction: the key (new, or expired) and the job. ``None`` when written;
        the key's item when it is held; ``{}`` when a concurrent transaction collided."""
        now = int(time.time())
        key_item = {
            aws.TABLE_KEY: _s(f"key#{tenant}#{claim.key}"), "fingerprint": _s(claim.fingerprint),
            "jobId": _s(job_id), aws.TTL_ATTRIBUTE: {"N": str(now + IDEMPOTENCY_KEY_TTL_SECONDS)},
        }
        with _answering("TransactWriteItems (create)"):
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {"Put": {
                            "TableName": self._table, "Item": key_item,
                            "ConditionExpression": "attribute_not_exists(#pk) OR #expiresAt < :now",
                            "ExpressionAttributeNames": _names("#pk", "#expiresAt"),
                            "ExpressionAttributeValues": {":now": {"N": str(now)}},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }},
                        {"Put": {
                            "TableName": self._table, "Item": item,
                            "ConditionExpression": "attribute_not_exists(#pk)",
                            "ExpressionAttributeNames": _names("#pk"),
                        }},
                    ]
                )
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons: list[dict[str, Any]] = aws.response_of(exc).get("CancellationReasons", [])
                held = reasons[0] if reasons else {}
                if held.get("Code") == "ConditionalCheckFailed" and held.get("Item"):
                    old: Item = held["Item"]
                    return old
                if any(reason.get("Code") == "TransactionConflict" for reason in reasons):
                    return {}
                raise
        return None

    def _replay(self, key_item: Item, claim: IdempotencyClaim) -> Created:
        job_id = key_item["jobId"]["S"]
        if key_item["fingerprint"]["S"] != claim.fingerprint:
            raise IdempotencyKeyReused(job_id)
        return Created(self.get(job_id), replayed=True)

    def _get_many(self, pks: list[str]) -> dict[str, Job]:
        """The jobs of up to 100 keys, by key (those deleted meanwhile are missing)."""
        found: dict[str, Job] = {}
        pending: list[dict[str, Any]] = [{aws.TABLE_KEY: _s(pk)} for pk in pks]
        for attempt in range(INSERT_ATTEMPTS):
            if not pending:
                break
            with _answering("BatchGetItem"):
                answer = self.client.batch_get_item(
                    RequestItems={self._table: {"Keys": pending, "ConsistentRead": True}}
                )
            now = time.time()
            for item in answer.get("Responses", {}).get(self._table, []):
                if not expired(item, now):
                    found[item[aws.TABLE_KEY]["S"]] = job_of(item)
            unprocessed: dict[str, Any] = dict(answer.get("UnprocessedKeys", {}))
            pending = list(unprocessed.get(self._table, {}).get("Keys", []))
            if pending:
                time.sleep(0.01 * 2**attempt)
        if pending:
            raise StoreUnavailable("DynamoDB job table: BatchGetItem left keys unprocessed")
        return found


def open_dynamodb_store(settings: Settings, connection: aws.Connection | None = None) -> DynamoJobStore:
    """The store on ``JOBS_TABLE``, checked at start: the table exists and has the key and
    indexes ``aws-init`` gives it; else a ``ConfigurationError`` naming ``JOBS_TABLE``."""
    table = settings.jobs_table or ""
    client = aws.client("dynamodb", "JOBS_TABLE", connection)
    try:
        description = aws.start_check(
            "JOBS_TABLE", f"DescribeTable {table}", lambda: client.describe_table(TableName=table)
        )["Table"]
    except client.exceptions.ResourceNotFoundException as exc:
        raise ConfigurationError(
            f"JOBS_TABLE: there is no DynamoDB table {table!r} in {client.meta.region_name}; "
            "create it with `levelforge aws-init`"
        ) from exc
    except (ClientError, BotoCoreError) as exc:
        raise aws.start_check_failed("JOBS_TABLE", f"DescribeTable {table}", exc) from exc
    keys = [key["AttributeName"] for key in description.get("KeySchema", [])]
    indexes = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
    if keys != [aws.TABLE_KEY] or not {aws.TENANT_INDEX, aws.TENANT_STATUS_INDEX} <= indexes:
        raise ConfigurationError(
            f"JOBS_TABLE: table {table!r} is not a levelforge job table of this version (key "
            f"{aws.TABLE_KEY!r}, indexes {aws.TENANT_INDEX!r} and {aws.TENANT_STATUS_INDEX!r}); "
            "create or upgrade it with `levelforge aws-init`"
        )
    return DynamoJobStore(client, table, retention_days=settings.job_retention_days)

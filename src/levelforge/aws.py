"""AWS clients from the environment, and ``levelforge aws-init``.

The SDK reads its own variables unchanged (CONTRACT §8): the region (``AWS_REGION``, which
the Python SDK itself does not read, so it is passed on; then ``AWS_DEFAULT_REGION`` and
the profile's), the credential
chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, a role) and
``AWS_ENDPOINT_URL`` (a local emulator in tests). Every client uses the SDK's standard
retry mode, so throttling and transient errors are retried there; a conditional failure
is never retried as an error. Clients are built in the entry points through the backends'
``open_…`` functions and checked at start: a missing region or credentials, or a table,
queue or bucket that does not exist, is a ``ConfigurationError`` naming the variable.

Only the AWS backends (``stores.dynamodb``, ``queues.sqs``, ``artifacts.s3``) and this
module import boto3.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload
from urllib.parse import urlsplit

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    ParamValidationError,
    SSLError,
)
from botocore.exceptions import ConnectionError as SdkConnectionError

from levelforge.config import Settings
from levelforge.errors import ConfigurationError, StoreUnavailable

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

#: the SDK's standard retry mode: throttling and transient errors, with backoff
RETRIES_MAX_ATTEMPTS = 5
#: above SQS's longest long poll (20 s)
READ_TIMEOUT_SECONDS = 30
#: enough for the 32 threads of one process that the contract suite races
MAX_POOL_CONNECTIONS = 64
#: how long a start-up check keeps asking an endpoint that does not answer (an outage, an
#: endpoint still starting) before the process gives up with a ``ConfigurationError``
START_PATIENCE_SECONDS = 60.0
#: the first wait between a start-up check's attempts, doubled up to the cap
START_RETRY_FIRST_SECONDS, START_RETRY_CAP_SECONDS = 0.5, 8.0
#: the dead-letter queue ``aws-init`` creates is the job queue's name plus this
DEAD_LETTER_SUFFIX = "-dlq"

#: the job table's key, its two per-tenant listing indexes (KEYS_ONLY) and the TTL attribute
TABLE_KEY = "pk"
TENANT_INDEX = "byTenant"
TENANT_STATUS_INDEX = "byTenantStatus"
TTL_ATTRIBUTE = "expiresAt"
#: index name → (partition key, sort key)
JOB_INDEXES = {
    TENANT_INDEX: ("tenant", "createdKey"),
    TENANT_STATUS_INDEX: ("status", "tenantCreatedKey"),
}
#: on-demand capacity: the table follows the load
BILLING_MODE = "PAY_PER_REQUEST"
#: how long the dead-letter queue keeps a message: SQS's longest, 14 days
DEAD_LETTER_RETENTION_SECONDS = 1_209_600

Service = Literal["dynamodb", "s3", "sqs"]


@dataclass(frozen=True)
class Connection:
    """How to reach AWS when not from the environment alone (tests, tools). Empty fields
    are left to the SDK's own chain of environment variables and config files."""

    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None


def client_config(service: Service) -> Config:
    config = Config(
        retries={"mode": "standard", "max_attempts": RETRIES_MAX_ATTEMPTS},
        read_timeout=READ_TIMEOUT_SECONDS,
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )
    if service == "s3":
        # presigned URLs signed with SigV4 (SigV2 is refused by newer regions)
        config = config.merge(Config(signature_version="s3v4"))
    return config


@overload
def client(
    service: Literal["dynamodb"], variable: str, connection: Connection | None = ...
) -> DynamoDBClient: ...
@overload
def client(service: Literal["sqs"], variable: str, connection: Connection | None = ...) -> SQSClient: ...
@overload
def client(service: Literal["s3"], variable: str, connection: Connection | None = ...) -> S3Client: ...
def client(service: Service, variable: str, connection: Connection | None = None) -> Any:
    """A client of ``service`` for the resource named by ``variable``; a missing region or
    missing credentials raise ``ConfigurationError`` naming ``variable`` and what to set."""
    connection = connection or Connection()
    try:
        core = botocore.session.get_session()
        core.register_component("data_loader", _loader())
        session = boto3.session.Session(
            botocore_session=core,
            # the Python SDK reads only AWS_DEFAULT_REGION (and profiles); AWS_REGION first
            region_name=connection.region or os.environ.get("AWS_REGION") or None,
            aws_access_key_id=connection.access_key_id,
            aws_secret_access_key=connection.secret_access_key,
        )
        if not session.region_name:
            raise ConfigurationError(f"{variable} is set, but no AWS region is: set AWS_REGION")
        if session.get_credentials() is None:
            raise ConfigurationError(
                f"{variable} is set, but no AWS credentials were found: set AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an IAM role"
            )
        return session.client(service, endpoint_url=connection.endpoint_url, config=client_config(service))
    except (BotoCoreError, ValueError) as exc:
        raise ConfigurationError(f"{variable}: cannot build the {service} client: {exc}") from exc


@lru_cache(maxsize=1)
def _loader() -> botocore.loaders.Loader:
    """One loader of the SDK's service models per process: each session would otherwise
    parse them again (about half a second a client)."""
    return botocore.loaders.create_loader()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def response_of(exc: ClientError) -> dict[str, Any]:
    """The parsed error response, untyped: extra members such as ``Item`` or
    ``CancellationReasons`` are there when the operation returns them."""
    response: Any = exc.response
    return dict(response)


T = TypeVar("T")


def unanswered(exc: Exception) -> bool:
    """True for an error that says the service did not answer (no connection, a timeout, a
    5xx), as opposed to an answer: a missing resource, a denial, a bad request."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return int(status) >= 500
    if isinstance(exc, SSLError):  # a certificate that does not fit will not fix itself
        return False
    return isinstance(exc, SdkConnectionError | HTTPClientError)  # refused, reset, timed out


def start_check(variable: str, what: str, check: Callable[[], T]) -> T:
    """``check()``, asked again with capped exponential backoff while the service does not
    answer, for up to ``START_PATIENCE_SECONDS``: a process started during an outage waits
    for the store instead of exiting as if it were misconfigured. An answer, even an error
    (a missing table), is returned or raised at once."""
    deadline = time.monotonic() + START_PATIENCE_SECONDS
    wait = START_RETRY_FIRST_SECONDS
    while True:
        try:
            return check()
        except (ClientError, BotoCoreError) as exc:
            if not unanswered(exc) or time.monotonic() + wait > deadline:
                raise
            logger.warning("%s: %s got no answer (%s); asking again in %.1f s", variable, what,
                           type(exc).__name__, wait)
        time.sleep(wait)
        wait = min(wait * 2, START_RETRY_CAP_SECONDS)


def start_check_failed(variable: str, what: str, exc: Exception) -> ConfigurationError:
    """The ``ConfigurationError`` of a start-up check that got an error from AWS."""
    if isinstance(exc, ClientError):
        reason = f"{error_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}"
    else:
        reason = f"{type(exc).__name__}: {exc} (check AWS_ENDPOINT_URL and AWS_REGION)"
    return ConfigurationError(f"{variable}: {what} failed: {reason}")


def queue_name_of(url: str) -> str:
    """The queue name in an SQS queue URL (its last path segment)."""
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    if not urlsplit(url).scheme or not name:
        raise ConfigurationError(f"JOBS_QUEUE_URL: {url!r} is not an SQS queue URL")
    return name


def sibling_queue_url(url: str, name: str) -> str:
    """The URL of queue ``name`` in the same account and region as the queue at ``url``
    (an SQS dead-letter queue always is)."""
    head, _sep, _old = url.rstrip("/").rpartition("/")
    return f"{head}/{name}"


# --- aws-init ----------------------------------------------------------------------------


@dataclass
class InitReport:
    """What ``aws_init`` found or did, one line per resource."""

    lines: list[str] = field(default_factory=list)

    def add(self, what: str, outcome: str) -> None:
        self.lines.append(f"{what}: {outcome}")

    def __str__(self) -> str:
        return "\n".join(self.lines)


def aws_init(settings: Settings, connection: Connection | None = None) -> InitReport:
    """Create the job table (with its indexes and TTL), the artifact bucket, the job queue
    and its dead-letter queue named by the settings; what exists is left as it is, so a
    second run changes nothing. Each resource is optional: only the set ones are made."""
    report = InitReport()
    if not (settings.jobs_table or settings.jobs_queue_url or settings.artifacts_bucket):
        raise ConfigurationError(
            "aws-init: none of JOBS_TABLE, JOBS_QUEUE_URL, ARTIFACTS_BUCKET is set; nothing to create"
        )
    try:
        if settings.jobs_table:
            create_jobs_table(client("dynamodb", "JOBS_TABLE", connection), settings.jobs_table, report)
        if settings.artifacts_bucket:
            create_bucket(client("s3", "ARTIFACTS_BUCKET", connection), settings.artifacts_bucket, report)
        if settings.jobs_queue_url:
            create_queues(client("sqs", "JOBS_QUEUE_URL", connection), settings, report)
    except (ClientError, BotoCoreError) as exc:
        raise ConfigurationError(f"aws-init failed: {exc}") from exc
    return report


def create_jobs_table(dynamodb: DynamoDBClient, table: str, report: InitReport) -> None:
    """The job table: key ``pk``; ``byTenant`` (tenant, createdKey) and ``byTenantStatus``
    (status, tenantCreatedKey) indexes, keys only; on-demand capacity; TTL on ``expiresAt``.
    A table of an earlier version gets the indexes it lacks (its old ones are left)."""
    try:
        dynamodb.create_table(TableName=table, **jobs_table_definition())
        report.add(f"DynamoDB table {table}", "created")
    except dynamodb.exceptions.ResourceInUseException:
        report.add(f"DynamoDB table {table}", "exists")
        dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig=_WAIT)
        add_missing_indexes(dynamodb, table, report)
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    enable_ttl(dynamodb, table, report)
    enable_point_in_time_recovery(dynamodb, table, report)


def enable_ttl(dynamodb: DynamoDBClient, table: str, report: InitReport) -> None:
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") == TTL_ATTRIBUTE:
        report.add(f"  TTL on {TTL_ATTRIBUTE}", "exists")
        return
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    report.add(f"  TTL on {TTL_ATTRIBUTE}", "enabled")


def enable_point_in_time_recovery(dynamodb: DynamoDBClient, table: str, report: InitReport) -> None:
    """Continuous backups: the table can be restored to any second of the last 35 days."""
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    if backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED":
        report.add("  point-in-time recovery", "exists")
        return
    dynamodb.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    report.add("  point-in-time recovery", "enabled")


_WAIT: Any = {"Delay": 1, "MaxAttempts": 120}


def jobs_table_definition() -> Any:
    """The job table as ``CreateTable`` takes it, less its name: key, indexes and billing
    mode. The CloudFormation stack (deploy/cloudformation/levelforge.yaml) declares the same
    properties under the same names, and a test holds the two equal; the TTL attribute is
    ``TTL_ATTRIBUTE``."""
    return {
        "BillingMode": BILLING_MODE,
        "KeySchema": [{"AttributeName": TABLE_KEY, "KeyType": "HASH"}],
        "AttributeDefinitions": _index_attributes(JOB_INDEXES),
        "GlobalSecondaryIndexes": [_index(name) for name in JOB_INDEXES],
    }


def _index_attributes(indexes: dict[str, tuple[str, str]]) -> list[Any]:
    names = {TABLE_KEY} | {name for keys in indexes.values() for name in keys}
    return [{"AttributeName": name, "AttributeType": "S"} for name in sorted(names)]


def _index(name: str) -> Any:
    partition, sort = JOB_INDEXES[name]
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": sort, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }


def add_missing_indexes(dynamodb: DynamoDBClient, table: str, report: InitReport) -> None:
    """Create each index of ``JOB_INDEXES`` the table lacks, one at a time (DynamoDB's
    rule), each awaited until active. Jobs written before an index existed are in it only
    once they carry its keys (jobs of earlier versions do not: they are not listed)."""
    waiter = dynamodb.get_waiter("table_exists")
    for name, keys in JOB_INDEXES.items():
        description = dynamodb.describe_table(TableName=table)["Table"]
        if name in {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}:
            continue
        dynamodb.update_table(
            TableName=table,
            AttributeDefinitions=_index_attributes({name: keys}),
            GlobalSecondaryIndexUpdates=[{"Create": _index(name)}],
        )
        report.add(f"  index {name}", "created")
        for _attempt in range(240):
            waiter.wait(TableName=table, WaiterConfig=_WAIT)
            indexes = dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
            if all(index.get("IndexStatus", "ACTIVE") == "ACTIVE" for index in indexes):
                break
            time.sleep(0.5)


def create_bucket(s3: S3Client, bucket: str, report: InitReport) -> None:
    """The artifact bucket, versioned (an artifact overwritten or deleted by mistake can be
    brought back). Looked for first: in us-east-1, creating a bucket one already owns
    succeeds without saying so."""
    make_bucket(s3, bucket, report)
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled":
        report.add("  versioning", "exists")
        return
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    report.add("  versioning", "enabled")


def make_bucket(s3: S3Client, bucket: str, report: InitReport) -> None:
    region = s3.meta.region_name
    try:
        s3.head_bucket(Bucket=bucket)
        report.add(f"S3 bucket {bucket}", "exists")
        return
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
            )
        report.add(f"S3 bucket {bucket}", "created")
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        report.add(f"S3 bucket {bucket}", "exists")


def create_queues(sqs: SQSClient, settings: Settings, report: InitReport) -> None:
    """The dead-letter queue ``<name>-dlq``, then the job queue redriving to it after
    ``MAX_DELIVERIES`` receives, hidden ``VISIBILITY_TIMEOUT_SECONDS`` per receive."""
    url = settings.jobs_queue_url or ""
    name = queue_name_of(url)
    dead_url = ensure_queue(sqs, name + DEAD_LETTER_SUFFIX, dead_letter_queue_attributes(), report)
    dead = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])
    made = ensure_queue(sqs, name, job_queue_attributes(settings, dead["Attributes"]["QueueArn"]), report)
    if made.rstrip("/") != url.rstrip("/"):
        report.add("  note", f"SQS answers the queue's URL as {made}; set JOBS_QUEUE_URL to it")


def dead_letter_queue_attributes() -> dict[str, str]:
    """The dead-letter queue's attributes (the stack's ``DeadLetterQueue`` has the same)."""
    return {"MessageRetentionPeriod": str(DEAD_LETTER_RETENTION_SECONDS)}


def job_queue_attributes(settings: Settings, dead_letter_arn: str) -> dict[str, str]:
    """The job queue's attributes for ``settings``: hidden ``VISIBILITY_TIMEOUT_SECONDS``
    (whole seconds, rounded up) per receive, redriven to ``dead_letter_arn`` after
    ``MAX_DELIVERIES`` receives. The stack's ``JobsQueue`` has the same, from its parameters."""
    return {
        "VisibilityTimeout": str(math.ceil(settings.visibility_timeout_seconds)),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": str(settings.max_deliveries)}
        ),
    }


def ensure_queue(sqs: SQSClient, name: str, attributes: dict[str, str], report: InitReport) -> str:
    """Create queue ``name`` with ``attributes``, or bring an existing one's to them."""
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        report.add(f"SQS queue {name}", "created")
        return url
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(attributes))  # type: ignore[arg-type]
    have: dict[str, str] = {str(k): v for k, v in current.get("Attributes", {}).items()}
    changed = {k: v for k, v in attributes.items() if not same_attribute(have.get(k), v)}
    if changed:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)  # type: ignore[arg-type]
        report.add(f"SQS queue {name}", f"exists; updated {', '.join(sorted(changed))}")
    else:
        report.add(f"SQS queue {name}", "exists")
    return url


def same_attribute(have: str | None, want: str) -> bool:
    """Equal queue attributes; a JSON policy's numbers may come back as strings or not."""
    if have is None:
        return False
    return bool(_normalised(have) == _normalised(want))


def _normalised(value: str) -> Any:
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return {k: str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else str(parsed)


@contextmanager
def answering(service: str, what: str) -> Iterator[None]:
    """Any AWS error left inside becomes ``StoreUnavailable`` naming ``service`` and the call
    (the SDK has retried already); a ``ParamValidationError`` is our bug and passes."""
    try:
        yield
    except ParamValidationError:
        raise
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise StoreUnavailable(
            f"{service}: {what} failed: {error.get('Code')}: {error.get('Message')}"
        ) from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"{service}: {what} failed: {exc}") from exc

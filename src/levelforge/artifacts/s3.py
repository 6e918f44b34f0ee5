"""The S3 artifact store (``ARTIFACTS_BUCKET``): the Worker puts each artifact under
``jobs/{id}/…`` with its content type; the Orchestrator presigns GET URLs at read time,
which is a local computation (SigV4 query signing), never a request, and never stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from levelforge import aws
from levelforge.config import Settings
from levelforge.errors import ConfigurationError, StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client


class S3Artifacts:
    """``ports.ArtifactStore`` on the bucket ``bucket``."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except ParamValidationError:
            raise
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"S3 bucket {self.bucket}: PutObject {key} failed: {exc}") from exc

    def presign_get(self, key: str, expires_seconds: int) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_seconds
        )
        return url

    def close(self) -> None:
        self.client.close()


def open_s3_artifacts(settings: Settings, connection: aws.Connection | None = None) -> S3Artifacts:
    """The store on ``ARTIFACTS_BUCKET``, checked at start with HeadBucket: a missing
    bucket is a ``ConfigurationError`` naming ``ARTIFACTS_BUCKET``. A 403 passes: the
    least-privilege policies (docs/aws.md) need not grant ``s3:ListBucket``."""
    bucket = settings.artifacts_bucket or ""
    client = aws.client("s3", "ARTIFACTS_BUCKET", connection)
    try:
        aws.start_check("ARTIFACTS_BUCKET", f"HeadBucket {bucket}", lambda: client.head_bucket(Bucket=bucket))
    except ClientError as exc:
        code = aws.error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise ConfigurationError(
                f"ARTIFACTS_BUCKET: there is no S3 bucket {bucket!r}; create it with `levelforge aws-init`"
            ) from exc
        if code not in ("403", "AccessDenied"):
            raise aws.start_check_failed("ARTIFACTS_BUCKET", f"HeadBucket {bucket}", exc) from exc
    except BotoCoreError as exc:
        raise aws.start_check_failed("ARTIFACTS_BUCKET", f"HeadBucket {bucket}", exc) from exc
    return S3Artifacts(client, bucket)

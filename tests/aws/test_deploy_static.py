"""The CloudFormation stack (deploy/cloudformation/levelforge.yaml), read as a template.

What the emulator deploys is checked in test_deploy_stack.py; here: the linters, the
definitions the template shares with the code and the docs (table, queues, policies,
defaults), and the resources the emulator does not provision (Worker autoscaling).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import pytest

from levelforge import aws
from levelforge.config import Settings
from tests.aws import deploy_template
from tests.aws.conftest import documented_policy
from tests.aws.emulator import EXECUTABLE

TEMPLATE = deploy_template.TEMPLATE


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return deploy_template.load()


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in template["Resources"].items() if resource["Type"] == kind}


def test_cfn_lint_finds_nothing() -> None:
    """Given the template, When cfn-lint checks it (every rule, warnings included), Then it
    reports nothing."""
    result = subprocess.run(
        [deploy_template.linter("cfn-lint"), str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_and_waives_only_the_checks_named_with_their_reason(template: dict[str, Any]) -> None:
    """Given the template, When checkov scans it offline, Then no check fails, and the checks
    it skipped are exactly those the template's Metadata.Waivers names, each with the same
    reason on every resource that waives it."""
    result = subprocess.run(
        [
            deploy_template.linter("checkov"),
            "-f",
            str(TEMPLATE),
            "--framework",
            "cloudformation",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["failed"] == 0 and summary["passed"] > 40 and summary["parsing_errors"] == 0, summary
    skipped = {check["check_id"] for check in report["results"]["skipped_checks"]}
    waivers: dict[str, str] = template["Metadata"]["Waivers"]
    assert skipped == set(waivers)
    for name, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["comment"] == waivers[skip["id"]], f"{name} waives {skip['id']} for another reason"


def test_the_table_is_the_one_aws_init_creates(template: dict[str, Any]) -> None:
    """Given the stack's table, Then its key, indexes and billing mode are
    ``aws.jobs_table_definition()`` (what aws-init creates), its TTL is on
    ``TTL_ATTRIBUTE``, point-in-time recovery is on, and it outlives the stack."""
    table = template["Resources"]["JobsTable"]
    properties = dict(table["Properties"])
    ttl = properties.pop("TimeToLiveSpecification")
    recovery = properties.pop("PointInTimeRecoverySpecification")

    assert properties == aws.jobs_table_definition()
    assert ttl == {"AttributeName": aws.TTL_ATTRIBUTE, "Enabled": True}
    assert recovery == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_the_queues_are_the_ones_aws_init_creates_for_the_default_configuration(
    template: dict[str, Any],
) -> None:
    """Given the stack's queues and the parameters' defaults, Then they have the attributes
    aws-init gives the default configuration (visibility timeout, redrive after
    MAX_DELIVERIES, the dead letters' retention), and the dead-letter queue is named as
    aws-init names it."""
    queue = template["Resources"]["JobsQueue"]["Properties"]
    dead = template["Resources"]["DeadLetterQueue"]["Properties"]
    parameters = template["Parameters"]
    defaults = {name: str(spec.get("Default")) for name, spec in parameters.items()}

    def resolved(value: Any) -> str:
        return defaults[value["Ref"]] if isinstance(value, dict) and "Ref" in value else str(value)

    rendered = {
        "VisibilityTimeout": resolved(queue["VisibilityTimeout"]),
        "RedrivePolicy": json.dumps(
            {
                "deadLetterTargetArn": "DLQ-ARN",
                "maxReceiveCount": resolved(queue["RedrivePolicy"]["maxReceiveCount"]),
            }
        ),
    }
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert rendered == aws.job_queue_attributes(Settings(), "DLQ-ARN")
    retention = {"MessageRetentionPeriod": str(dead["MessageRetentionPeriod"])}
    assert retention == aws.dead_letter_queue_attributes()
    assert dead["QueueName"] == {"Fn::Sub": queue["QueueName"]["Fn::Sub"] + aws.DEAD_LETTER_SUFFIX}
    assert int(defaults["RetentionDays"]) == Settings().job_retention_days
    assert int(defaults["PresignExpiresSeconds"]) == Settings().presign_expires_seconds


def test_the_bucket_blocks_public_access_is_encrypted_and_expires_artifacts(template: dict[str, Any]) -> None:
    """Given the stack's bucket, Then public access is blocked four ways, objects are
    encrypted, artifacts (``jobs/``) expire after RetentionDays, and it outlives the stack."""
    bucket = template["Resources"]["ArtifactsBucket"]
    properties = bucket["Properties"]
    (rule,) = properties["LifecycleConfiguration"]["Rules"]

    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert (
        properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        == "AES256"
    )
    assert (rule["Status"], rule["Prefix"]) == ("Enabled", "jobs/")
    assert rule["ExpirationInDays"] == {"Ref": "RetentionDays"}
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


def test_only_the_table_and_the_bucket_are_retained(template: dict[str, Any]) -> None:
    """Given every resource, Then only the table and the bucket have a Retain (or Snapshot)
    policy: deleting the stack deletes everything else."""
    kept = {
        name
        for name, resource in template["Resources"].items()
        if {resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")} - {None, "Delete"}
    }
    assert kept == {"JobsTable", "ArtifactsBucket"}


ROLE_NAMES = {"orchestrator": "OrchestratorTaskRole", "worker": "WorkerTaskRole"}
#: how the template names what docs/aws.md writes as placeholders
PLACEHOLDERS = {
    "${AWS::Partition}": "aws",
    "${AWS::Region}": "REGION",
    "${AWS::AccountId}": "ACCOUNT",
    "${JobsTable.Arn}": "arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE",
    "${ArtifactsBucket.Arn}": "arn:aws:s3:::BUCKET",
}
ATTRIBUTES = {
    ("JobsTable", "Arn"): "arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE",
    ("JobsQueue", "Arn"): "arn:aws:sqs:REGION:ACCOUNT:QUEUE",
    ("DeadLetterQueue", "Arn"): "arn:aws:sqs:REGION:ACCOUNT:QUEUE-dlq",
}


def with_placeholders(value: Any) -> Any:
    """A template value written as docs/aws.md writes it (``TABLE``, ``QUEUE``, …)."""
    if isinstance(value, list):
        return [with_placeholders(inner) for inner in value]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return ATTRIBUTES[tuple(value["Fn::GetAtt"])]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"]
        for name, placeholder in PLACEHOLDERS.items():
            text = text.replace(name, placeholder)
        assert "${" not in text, f"no placeholder for {text}"
        return text
    if isinstance(value, dict):
        return {key: with_placeholders(inner) for key, inner in value.items()}
    return value


@pytest.mark.parametrize("role", sorted(ROLE_NAMES))
def test_the_task_roles_hold_exactly_the_policies_of_docs_aws_md(template: dict[str, Any], role: str) -> None:
    """Given a task role of the stack, When its statements are written with the docs'
    placeholders, Then they are the policy docs/aws.md documents for that role (the one the
    AWS tests run the service with), and the role is for ECS tasks only."""
    properties = template["Resources"][ROLE_NAMES[role]]["Properties"]
    (policy,) = properties["Policies"]
    documented = documented_policy(role, {})

    assert with_placeholders(policy["PolicyDocument"]) == documented
    (trust,) = properties["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert "ManagedPolicyArns" not in properties


def test_internal_token_comes_from_secrets_manager_only(template: dict[str, Any]) -> None:
    """Given the template, Then no parameter carries a token or a secret (one names a
    secret, by its ARN: WebhookSecretArn), each container takes INTERNAL_TOKEN from the
    stack's secret (ECS ``Secrets``, never ``Environment``), and only the task execution
    role may read that secret."""
    names = [name.lower() for name in template["Parameters"]]
    assert [name for name in names if "token" in name or "secret" in name] == ["webhooksecretarn"]
    definitions = resources_of(template, "AWS::ECS::TaskDefinition")
    assert len(definitions) == 2
    for definition in definitions.values():
        (container,) = definition["Properties"]["ContainerDefinitions"]
        assert {"Name": "INTERNAL_TOKEN", "ValueFrom": {"Ref": "InternalToken"}} in container["Secrets"]
        assert "INTERNAL_TOKEN" not in {variable["Name"] for variable in container["Environment"]}
        assert "INTERNAL_TOKEN" not in json.dumps(container["Command"])
    readers = {
        name
        for name, role in resources_of(template, "AWS::IAM::Role").items()
        if "InternalToken" in deploy_template.references(role["Properties"].get("Policies", []))
    }
    assert readers == {"TaskExecutionRole"}


def test_the_services_run_the_two_roles_of_one_image(template: dict[str, Any]) -> None:
    """Given the task definitions, Then both run the Image parameter: the Orchestrator as
    ``levelforge orchestrator`` on port 8000 with its health check, the Worker as
    ``levelforge worker`` posting to the service's URL (the image's entry point is
    ``levelforge``); and the load balancer checks the Orchestrators on ``/healthz``."""
    resources = template["Resources"]
    orchestrator = resources["OrchestratorTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    worker = resources["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert orchestrator["Image"] == worker["Image"] == {"Ref": "Image"}
    assert orchestrator["Command"][:1] == ["orchestrator"] and worker["Command"][:1] == ["worker"]
    assert orchestrator["PortMappings"] == [{"ContainerPort": 8000, "Protocol": "tcp"}]
    assert orchestrator["HealthCheck"]["Command"] == ["CMD", "python", "/app/healthcheck.py"]
    environment = {variable["Name"]: variable["Value"] for variable in worker["Environment"]}
    assert environment["ORCHESTRATOR_URL"] == {"Fn::Sub": "https://${DomainName}"}
    assert "JOBS_TABLE" not in environment  # a Worker talks to the Orchestrator, not to the table
    target_group = resources["OrchestratorTargetGroup"]["Properties"]
    assert (target_group["HealthCheckPath"], target_group["Port"]) == ("/healthz", 8000)
    service = resources["OrchestratorService"]["Properties"]
    assert service["LoadBalancers"][0]["TargetGroupArn"] == {"Ref": "OrchestratorTargetGroup"}


def test_the_emulator_skips_only_the_worker_autoscaling() -> None:
    """Given the emulator's own list of resource types its CloudFormation provisions, Then
    the template's types it lacks are exactly ``NOT_PROVISIONED`` (the Worker autoscaling,
    checked by the next test), so everything else is really deployed by test_deploy_stack."""
    if not EXECUTABLE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the AWS emulator: {EXECUTABLE} is missing")
        pytest.skip(f"{EXECUTABLE} is missing: run scripts/install-emulator.sh")
    kinds = {resource["Type"] for resource in deploy_template.load()["Resources"].values()}
    assert kinds - deploy_template.emulator_resource_types() == deploy_template.NOT_PROVISIONED


def test_workers_scale_by_target_tracking_on_visible_messages_per_worker(template: dict[str, Any]) -> None:
    """Given the scaling resources (not provisioned by the emulator), Then the Worker
    service's desired count is scaled between WorkerMinCount and WorkerMaxCount by a
    target-tracking policy whose metric is the job queue's visible messages divided by the
    Worker service's running tasks, with MessagesPerWorker as its target."""
    (target,) = resources_of(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    (policy,) = resources_of(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    target_properties, policy_properties = target["Properties"], policy["Properties"]
    assert target_properties["ServiceNamespace"] == "ecs"
    assert target_properties["ScalableDimension"] == "ecs:service:DesiredCount"
    assert deploy_template.references(target_properties["ResourceId"]) == {"Cluster", "WorkerService"}
    assert (target_properties["MinCapacity"], target_properties["MaxCapacity"]) == (
        {"Ref": "WorkerMinCount"},
        {"Ref": "WorkerMaxCount"},
    )
    assert policy_properties["PolicyType"] == "TargetTrackingScaling"
    assert policy_properties["ScalingTargetId"] == {
        "Ref": next(iter(resources_of(template, "AWS::ApplicationAutoScaling::ScalableTarget")))
    }
    tracking = policy_properties["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == {"Ref": "MessagesPerWorker"}
    metrics = {metric["Id"]: metric for metric in tracking["CustomizedMetricSpecification"]["Metrics"]}
    visible = metrics["visible"]["MetricStat"]["Metric"]
    workers = metrics["workers"]["MetricStat"]["Metric"]
    assert (visible["Namespace"], visible["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    queue_name = {"Fn::GetAtt": ["JobsQueue", "QueueName"]}
    assert visible["Dimensions"] == [{"Name": "QueueName", "Value": queue_name}]
    assert (workers["Namespace"], workers["MetricName"]) == ("ECS/ContainerInsights", "RunningTaskCount")
    assert deploy_template.references(workers["Dimensions"]) == {"Cluster", "WorkerService"}
    (returned,) = [metric for metric in metrics.values() if metric["ReturnData"]]
    assert returned["Expression"] == "visible / MAX([workers, 1])"
    cluster = template["Resources"]["Cluster"]["Properties"]
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]


@pytest.mark.parametrize("role", ["Orchestrator", "Worker"])
def test_every_cpu_size_has_its_memory_rule_and_the_defaults_pass_it(
    template: dict[str, Any], role: str
) -> None:
    """Given a role's CPU choices, Then each has one rule that lists the memory sizes Fargate
    pairs with it (512 MiB to 2 GiB for a quarter vCPU; 2 to 8 GiB per vCPU above, at most
    30 GiB), so a pair Fargate would refuse is refused before anything is made; and the
    role's default pair passes its rule."""
    parameters = template["Parameters"]
    rules = {name: rule for name, rule in template["Rules"].items() if name.startswith(f"{role}Size")}
    cpus = [str(cpu) for cpu in parameters[f"{role}Cpu"]["AllowedValues"]]
    assert sorted(rules) == sorted(f"{role}Size{cpu}" for cpu in cpus)
    for cpu in cpus:
        rule = rules[f"{role}Size{cpu}"]
        assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": f"{role}Cpu"}, cpu]}
        ((allowed, memory),) = [assertion["Assert"]["Fn::Contains"] for assertion in rule["Assertions"]]
        assert memory == {"Ref": f"{role}Memory"}
        vcpu = int(cpu) / 1024
        sizes = [int(size) for size in allowed]
        assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
        assert min(sizes) == (512 if vcpu == 0.25 else 2048 * vcpu)
        assert max(sizes) == (2048 if vcpu == 0.25 else min(8192 * vcpu, 30720))
    default_cpu, default_memory = (str(parameters[f"{role}{kind}"]["Default"]) for kind in ("Cpu", "Memory"))
    (allowed, _memory) = rules[f"{role}Size{default_cpu}"]["Assertions"][0]["Assert"]["Fn::Contains"]
    assert default_memory in allowed


#: the webhook settings that are the stack's parameters, with the Settings field of each
WEBHOOK_PARAMETERS = {
    "WebhookRetryHours": "webhook_retry_hours",
    "WebhookBackoffBaseSeconds": "webhook_backoff_base_seconds",
    "WebhookTimeoutSeconds": "webhook_timeout_seconds",
    "WebhookPollSeconds": "webhook_poll_seconds",
}


def test_webhook_secret_is_an_optional_secrets_manager_arn_read_only_by_ecs(template: dict[str, Any]) -> None:
    """Given the template, Then WebhookSecretArn is empty by default or the ARN of a Secrets
    Manager secret; when given, the Orchestrator (not the Worker) takes WEBHOOK_SECRET from
    it through ECS ``Secrets`` (never ``Environment``), and the task execution role, alone,
    may read it; when empty, both are left out (``AWS::NoValue``: no webhooks, 422)."""
    parameter = template["Parameters"]["WebhookSecretArn"]
    assert (parameter["Type"], parameter["Default"]) == ("String", "")
    assert template["Conditions"]["HasWebhookSecret"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "WebhookSecretArn"}, ""]}]
    }
    resources = template["Resources"]
    (orchestrator,) = resources["OrchestratorTaskDefinition"]["Properties"]["ContainerDefinitions"]
    (worker,) = resources["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"]
    conditional = {
        "Fn::If": [
            "HasWebhookSecret",
            {"Name": "WEBHOOK_SECRET", "ValueFrom": {"Ref": "WebhookSecretArn"}},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert conditional in orchestrator["Secrets"]
    assert "WebhookSecretArn" not in deploy_template.references(worker)
    for container in (orchestrator, worker):
        assert "WEBHOOK_SECRET" not in {variable["Name"] for variable in container["Environment"]}
        assert "WebhookSecretArn" not in deploy_template.references(container["Environment"])
    readers = {
        name
        for name, role in resources_of(template, "AWS::IAM::Role").items()
        if "WebhookSecretArn" in deploy_template.references(role["Properties"].get("Policies", []))
    }
    assert readers == {"TaskExecutionRole"}
    (granted,) = [
        policy["Fn::If"]
        for policy in resources["TaskExecutionRole"]["Properties"]["Policies"]
        if "Fn::If" in policy
    ]
    condition, policy, otherwise = granted
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (condition, otherwise) == ("HasWebhookSecret", {"Ref": "AWS::NoValue"})
    assert (statement["Action"], statement["Resource"]) == (
        "secretsmanager:GetSecretValue", {"Ref": "WebhookSecretArn"}
    )


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:levelforge/webhook-AbCdEf", True),
        ("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:hooks-AbCdEf", True),
        ("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", False),
        ("arn:aws:ssm:eu-west-1:123456789012:parameter/webhook", False),
    ],
)
def test_webhook_secret_arn_accepts_only_an_arn_of_secrets_manager(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    """Given the parameter's pattern, Then it takes an empty value or a Secrets Manager ARN,
    never the secret itself (nor another service's ARN)."""
    pattern = template["Parameters"]["WebhookSecretArn"]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is accepted


def test_the_orchestrator_gets_the_webhook_settings_with_the_defaults_of_config(
    template: dict[str, Any],
) -> None:
    """Given the webhook parameters, Then each defaults to its Settings default, its bounds
    lie within what Settings accepts, and the Orchestrator (only) has it in its environment
    under the variable's name."""
    parameters = template["Parameters"]
    resources = template["Resources"]
    (orchestrator,) = resources["OrchestratorTaskDefinition"]["Properties"]["ContainerDefinitions"]
    (worker,) = resources["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"]
    environment = {variable["Name"]: variable["Value"] for variable in orchestrator["Environment"]}
    defaults = Settings()
    for name, field in WEBHOOK_PARAMETERS.items():
        parameter = parameters[name]
        assert parameter["Type"] == "Number"
        assert parameter["Default"] == getattr(defaults, field), name
        assert environment[field.upper()] == {"Ref": name}
        for bound in ("MinValue", "MaxValue"):  # Settings takes both ends
            Settings(**{field: parameter[bound]})
        assert name not in deploy_template.references(worker)
    webhook_variables = {name for name in environment if name.startswith("WEBHOOK_")}
    assert webhook_variables == {field.upper() for field in WEBHOOK_PARAMETERS.values()}

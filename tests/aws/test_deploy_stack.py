"""The CloudFormation stack deployed to the emulator's CloudFormation, and used.

ministack provisions every resource type of the template except the Worker autoscaling
(``deploy_template.NOT_PROVISIONED``: checked in test_deploy_static.py), which is left out
of what is deployed here. It records the ECS cluster, task definitions and services, the
load balancer, listeners and target group, without running containers: the Orchestrator
and the Worker run here as local processes on the stack's outputs, as the stack's task
roles (credentials from ``AssumeRole`` on the roles the stack made, whose policies the
emulator enforces), with INTERNAL_TOKEN read from the stack's secret and WEBHOOK_SECRET
from the operator's (``WebhookSecretArn``), read as the stack's task execution role.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from levelforge import aws
from levelforge.config import Settings
from tests.aws import deploy_template
from tests.aws.emulator import ACCOUNT, REGION, REPO, Emulator, unique
from tests.e2e.conftest import Deployment
from tests.e2e.processes import environment, wait_until
from tests.e2e.webhook_receiver import SECRET, Receiver, verify

SETTLE_SECONDS = 60.0
PARAMETERS = {
    "Image": "levelforge:test",
    "AllowedCidr": "127.0.0.1/32",
    "DomainName": "levelforge.test",
    "CertificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/levelforge-test",
    "VisibilityTimeoutSeconds": "7",
    "MaxDeliveries": "4",
    "RetentionDays": "9",
    "OrchestratorCount": "2",
    "WorkerMinCount": "1",
    "WebhookRetryHours": "2",
    "WebhookTimeoutSeconds": "3",
}


@dataclass
class DeployedStack:
    emulator: Emulator
    name: str
    stack_id: str

    def describe(self) -> dict[str, Any]:
        stack: dict[str, Any] = self.emulator.root("cloudformation").describe_stacks(StackName=self.stack_id)[
            "Stacks"
        ][0]
        return stack

    @property
    def outputs(self) -> dict[str, str]:
        return {output["OutputKey"]: output["OutputValue"] for output in self.describe()["Outputs"]}

    def resources(self) -> dict[str, dict[str, Any]]:
        listed = self.emulator.root("cloudformation").describe_stack_resources(StackName=self.stack_id)
        return {resource["LogicalResourceId"]: resource for resource in listed["StackResources"]}

    def physical(self, logical_id: str) -> str:
        return str(self.resources()[logical_id]["PhysicalResourceId"])

    def settled(self) -> str:
        def done() -> str | None:
            status = str(self.describe()["StackStatus"])
            return None if status.endswith("IN_PROGRESS") else status

        return wait_until(done, timeout=SETTLE_SECONDS, what=f"stack {self.name}", every=0.1)


def network(emulator: Emulator) -> dict[str, str]:
    """A VPC with two subnets in two zones: the network parameters of the stack."""
    ec2 = emulator.root("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    return {"VpcId": vpc, "LoadBalancerSubnetIds": ",".join(subnets), "ServiceSubnetIds": ",".join(subnets)}


def stack_request(parameters: dict[str, str]) -> dict[str, Any]:
    body = deploy_template.for_emulator(deploy_template.load(), parameters)
    return {
        "TemplateBody": json.dumps(body),
        "Capabilities": ["CAPABILITY_IAM"],
        "Parameters": [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    }


def webhook_secret(emulator: Emulator) -> str:
    """The ARN of a Secrets Manager secret holding a WEBHOOK_SECRET, made as docs/aws.md says."""
    secrets = emulator.root("secretsmanager")
    created = secrets.create_secret(Name=unique("levelforge-webhook"), SecretString=SECRET)
    return str(created["ARN"])


def create_stack(emulator: Emulator, **overrides: str) -> DeployedStack:
    name = unique("levelforge")
    request = stack_request(PARAMETERS | network(emulator) | overrides)
    created = emulator.root("cloudformation").create_stack(StackName=name, **request)
    return DeployedStack(emulator, name, created["StackId"])


@pytest.fixture(scope="module")
def stack(ministack: Emulator) -> Iterator[DeployedStack]:
    deployed = create_stack(ministack, WebhookSecretArn=webhook_secret(ministack))
    deployed.settled()
    yield deployed
    ministack.root("cloudformation").delete_stack(StackName=deployed.stack_id)


def test_the_stack_is_created_with_every_resource(stack: DeployedStack) -> None:
    """Given the template (less the Worker autoscaling), When it is deployed, Then the stack
    reaches CREATE_COMPLETE with every resource created, and its outputs name them."""
    template = deploy_template.load()
    expected = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] not in deploy_template.NOT_PROVISIONED and "Condition" not in resource
    }
    resources = stack.resources()

    assert stack.describe()["StackStatus"] == "CREATE_COMPLETE"
    assert set(resources) == expected
    assert {resource["ResourceStatus"] for resource in resources.values()} == {"CREATE_COMPLETE"}
    outputs = stack.outputs
    assert outputs["JobsTable"] == stack.physical("JobsTable")
    assert outputs["ArtifactsBucket"] == stack.physical("ArtifactsBucket")
    assert outputs["JobsQueueUrl"].endswith(f"/{ACCOUNT}/{stack.name}-jobs")
    assert outputs["ServiceUrl"] == "https://levelforge.test"


def test_the_table_has_the_keys_and_indexes_of_aws_init(stack: DeployedStack) -> None:
    """Given the deployed table, When it is read back through DynamoDB's API, Then its key,
    indexes and billing mode are those aws-init creates. (ministack's table provisioner
    does not apply ``TimeToLiveSpecification`` or ``PointInTimeRecoverySpecification``:
    both are checked in the template by test_deploy_static.py.)"""
    dynamodb = stack.emulator.root("dynamodb")
    table = stack.outputs["JobsTable"]
    description = dynamodb.describe_table(TableName=table)["Table"]
    definition = aws.jobs_table_definition()

    assert description["KeySchema"] == definition["KeySchema"]
    assert (
        sorted(description["AttributeDefinitions"], key=lambda a: a["AttributeName"])
        == definition["AttributeDefinitions"]
    )
    assert description["BillingModeSummary"]["BillingMode"] == definition["BillingMode"]
    indexes = {
        index["IndexName"]: (index["KeySchema"], index["Projection"])
        for index in description["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        index["IndexName"]: (index["KeySchema"], index["Projection"])
        for index in definition["GlobalSecondaryIndexes"]
    }


def test_the_queues_have_the_configured_redrive_and_visibility(stack: DeployedStack) -> None:
    """Given the deployed queues, When their attributes are read back, Then the job queue
    hides a message VisibilityTimeoutSeconds and redrives it to the dead-letter queue after
    MaxDeliveries receives (the attributes aws-init gives that configuration), and the
    dead-letter queue keeps messages 14 days."""
    sqs = stack.emulator.root("sqs")
    outputs = stack.outputs
    dead = sqs.get_queue_attributes(QueueUrl=outputs["DeadLetterQueueUrl"], AttributeNames=["All"])[
        "Attributes"
    ]
    queue = sqs.get_queue_attributes(QueueUrl=outputs["JobsQueueUrl"], AttributeNames=["All"])["Attributes"]
    settings = Settings(visibility_timeout_seconds=7, max_deliveries=4)

    for name, value in aws.job_queue_attributes(settings, dead["QueueArn"]).items():
        assert aws.same_attribute(queue[name], value), (name, queue[name], value)
    for name, value in aws.dead_letter_queue_attributes().items():
        assert dead[name] == value
    assert (
        aws.sibling_queue_url(outputs["JobsQueueUrl"], f"{stack.name}-jobs{aws.DEAD_LETTER_SUFFIX}")
        == outputs["DeadLetterQueueUrl"]
    )


def test_the_bucket_blocks_public_access(stack: DeployedStack) -> None:
    """Given the deployed bucket, When its settings are read back through S3's API, Then all
    four public-access blocks are on, and an anonymous request for an artifact is refused.
    (ministack's bucket provisioner does not apply ``BucketEncryption``,
    ``LifecycleConfiguration`` or ``OwnershipControls``: they are checked in the template by
    test_deploy_static.py.)"""
    s3 = stack.emulator.root("s3")
    bucket = stack.outputs["ArtifactsBucket"]
    s3.put_object(Bucket=bucket, Key="jobs/probe/minimap.txt", Body=b"probe")

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    anonymous = httpx.get(f"{stack.emulator.url}/{bucket}/jobs/probe/minimap.txt", timeout=10)
    assert anonymous.status_code == 403


def test_the_services_alarms_and_load_balancer_are_recorded_as_declared(stack: DeployedStack) -> None:
    """Given the deployed ECS, ELB and CloudWatch resources, When they are read back through
    their APIs, Then the task definitions run the two commands as the two task roles, with
    one secret (the Orchestrator two: WEBHOOK_SECRET too, WebhookSecretArn being given) and
    no INTERNAL_TOKEN or WEBHOOK_SECRET in their environment, the Orchestrator with the
    webhook settings of the parameters, the services run on the cluster
    with their counts, the target group checks ``/healthz``, and the dead-letter and 5xx
    alarms watch the stack's queue and balancer."""
    ecs = stack.emulator.root("ecs")
    cluster = stack.outputs["ClusterName"]
    commands, environments = {}, {}
    for logical_id in ("OrchestratorTaskDefinition", "WorkerTaskDefinition"):
        definition = ecs.describe_task_definition(taskDefinition=stack.physical(logical_id))["taskDefinition"]
        (container,) = definition["containerDefinitions"]
        # ministack keeps the secrets' keys in CloudFormation's casing, which the ECS API
        # does not show: the references to the secrets are checked in the template
        assert len(container["secrets"]) == (2 if container["name"] == "orchestrator" else 1)
        environments[container["name"]] = {
            variable["name"]: variable["value"] for variable in container["environment"]
        }
        assert not {"INTERNAL_TOKEN", "WEBHOOK_SECRET"} & set(environments[container["name"]])
        assert definition["requiresCompatibilities"] == ["FARGATE"]
        assert definition["taskRoleArn"] == stack.outputs[f"{container['name'].capitalize()}TaskRoleArn"]
        commands[container["name"]] = container["command"]
    assert commands == {
        "orchestrator": ["orchestrator", "--host", "0.0.0.0", "--port", "8000"],
        "worker": ["worker", "--concurrency", "2"],
    }
    webhook_settings = {
        name: value for name, value in environments["orchestrator"].items() if name.startswith("WEBHOOK_")
    }
    assert webhook_settings == {
        "WEBHOOK_RETRY_HOURS": "2",
        "WEBHOOK_TIMEOUT_SECONDS": "3",
        "WEBHOOK_BACKOFF_BASE_SECONDS": "5",
        "WEBHOOK_POLL_SECONDS": "5",
    }
    assert not [name for name in environments["worker"] if name.startswith("WEBHOOK_")]
    services = ecs.describe_services(
        cluster=cluster, services=[stack.physical("OrchestratorService"), stack.physical("WorkerService")]
    )["services"]
    assert sorted(service["desiredCount"] for service in services) == [1, 2]

    elb = stack.emulator.root("elbv2")
    (group,) = elb.describe_target_groups(TargetGroupArns=[stack.physical("OrchestratorTargetGroup")])[
        "TargetGroups"
    ]
    assert (group["HealthCheckPath"], group["Port"], group["TargetType"]) == ("/healthz", 8000, "ip")
    listeners = elb.describe_listeners(LoadBalancerArn=stack.physical("LoadBalancer"))["Listeners"]
    assert sorted((listener["Protocol"], listener["Port"]) for listener in listeners) == [
        ("HTTP", 80),
        ("HTTPS", 443),
    ]

    alarms = stack.emulator.root("cloudwatch").describe_alarms(
        AlarmNames=[
            stack.physical(name)
            for name in ("DeadLetterQueueAlarm", "Orchestrator5xxAlarm", "LoadBalancer5xxAlarm")
        ]
    )["MetricAlarms"]
    watched = {(alarm["Namespace"], alarm["MetricName"]) for alarm in alarms}
    assert watched == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
    }
    (dead_letters,) = [alarm for alarm in alarms if alarm["Namespace"] == "AWS/SQS"]
    assert dead_letters["Dimensions"] == [{"Name": "QueueName", "Value": f"{stack.name}-jobs-dlq"}]


def role_environment(stack: DeployedStack, logical_id: str) -> dict[str, str]:
    """The SDK's variables of a process running as the stack's role ``logical_id``."""
    credentials = stack.emulator.root("sts").assume_role(
        RoleArn=stack.outputs[f"{logical_id}Arn"],
        RoleSessionName=unique("task"),
    )["Credentials"]
    return {
        "AWS_ENDPOINT_URL": stack.emulator.url,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def as_role(stack: DeployedStack, service: str, environment: dict[str, str]) -> Any:
    """A client of ``service`` with the credentials of ``environment`` (``role_environment``)."""
    return boto3.client(
        service,
        endpoint_url=stack.emulator.url,
        region_name=REGION,
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=environment["AWS_SESSION_TOKEN"],
    )


def execution_role_environment(stack: DeployedStack) -> dict[str, str]:
    """The SDK's variables of ECS starting a task: the stack's task execution role."""
    name = stack.physical("TaskExecutionRole").rsplit("/", 1)[-1]
    credentials = stack.emulator.root("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}", RoleSessionName=unique("ecs")
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def denied(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ClientError as exc:
        return aws.error_code(exc) in {"AccessDenied", "AccessDeniedException"}
    return False


@pytest.mark.e2e
def test_an_orchestrator_and_a_worker_on_the_stack_complete_jobs_with_presigned_downloads(
    stack: DeployedStack, tmp_path: Path
) -> None:
    """Given the stack, an Orchestrator and a Worker started here on its outputs, as its two
    task roles, with INTERNAL_TOKEN from its secret and WEBHOOK_SECRET from WebhookSecretArn
    (read as the task execution role, as ECS reads it), When jobs are submitted, one
    with a webhook, Then they finish with every artifact behind a presigned URL that
    downloads, the webhook is delivered signed with that secret; the task roles may not
    read the secrets, the Worker's may not touch the table; and the container's health
    check passes on the Orchestrator."""
    outputs = stack.outputs
    # read as root: ministack's Ref of the stack's secret is its name, not its ARN as in
    # CloudFormation, so the execution role's statement does not match it here
    token = stack.emulator.root("secretsmanager").get_secret_value(
        SecretId=outputs["InternalTokenSecretArn"]
    )["SecretString"]
    assert len(token) == 48
    ecs_secrets = as_role(stack, "secretsmanager", execution_role_environment(stack))
    webhook_arn = next(
        parameter["ParameterValue"]
        for parameter in stack.describe()["Parameters"]
        if parameter["ParameterKey"] == "WebhookSecretArn"
    )
    secret = ecs_secrets.get_secret_value(SecretId=webhook_arn)["SecretString"]
    assert secret == SECRET
    common = {
        "JOBS_TABLE": outputs["JobsTable"],
        "JOBS_QUEUE_URL": outputs["JobsQueueUrl"],
        "ARTIFACTS_BUCKET": outputs["ArtifactsBucket"],
        "INTERNAL_TOKEN": token,
        "VISIBILITY_TIMEOUT_SECONDS": PARAMETERS["VisibilityTimeoutSeconds"],
        "MAX_DELIVERIES": PARAMETERS["MaxDeliveries"],
        "JOB_RETENTION_DAYS": PARAMETERS["RetentionDays"],
    }
    database = tmp_path / "unused.db"
    hooks = {
        "WEBHOOK_SECRET": secret,
        "WEBHOOK_RETRY_HOURS": PARAMETERS["WebhookRetryHours"],
        "WEBHOOK_TIMEOUT_SECONDS": PARAMETERS["WebhookTimeoutSeconds"],
        "WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver is on 127.0.0.1
    }
    orchestrator_env = environment(
        database, **common, **hooks, **role_environment(stack, "OrchestratorTaskRole")
    )
    worker_env = environment(database, **common, **role_environment(stack, "WorkerTaskRole"))
    deployment = Deployment(tmp=tmp_path, env=orchestrator_env)
    receiver = Receiver().start()
    try:
        deployment.orchestrator()
        deployment.worker(worker_env)
        with deployment.client() as client:
            ids = [client.post("/jobs", json={"seed": seed, "rooms": 6}).json()["id"] for seed in (1, 2)]
            hooked = client.post("/jobs", json={"seed": 3, "rooms": 6, "webhook": {"url": receiver.url}})
            assert hooked.status_code == 202, hooked.text
            ids.append(hooked.json()["id"])

            def finished(job_id: str) -> dict[str, Any] | None:
                job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
                return job if job["status"] in ("done", "failed") else None

            jobs = [wait_until(lambda i=i: finished(i), timeout=60, what=f"job {i}", every=0.1) for i in ids]
            assert [job["status"] for job in jobs] == ["done"] * 3, deployment.log()
            for job in jobs:
                result = job["result"]
                assert result["sceneGraphKey"] == f"jobs/{job['id']}/scene-graph.json"
                graph = httpx.get(result["sceneGraphUrl"], timeout=10)
                assert graph.status_code == 200 and graph.json()["seed"] == job["spec"]["seed"]
                redirect = client.get(f"/jobs/{job['id']}/artifacts/minimap.txt")
                assert redirect.status_code == 302
                assert httpx.get(redirect.headers["location"], timeout=10).text == result["asciiMinimap"]
            hits = wait_until(lambda: receiver.of(ids[2]), timeout=30, what="the webhook", every=0.1)
            assert verify(hits[0].headers, hits[0].body, secret)
            assert hits[0].job["status"] == "done"

        for task_env in (orchestrator_env, worker_env):
            task_secrets = as_role(stack, "secretsmanager", task_env)
            assert denied(lambda reader=task_secrets: reader.get_secret_value(SecretId=webhook_arn))
        worker_dynamodb = as_role(stack, "dynamodb", worker_env)
        assert denied(
            lambda: worker_dynamodb.get_item(TableName=outputs["JobsTable"], Key={"pk": {"S": "job#x"}})
        )
        healthcheck = subprocess.run(
            [sys.executable, str(REPO / "deploy" / "docker" / "healthcheck.py")],
            capture_output=True,
            timeout=30,
            env={"HEALTHCHECK_ROLE": "orchestrator", "HEALTHCHECK_URL": f"{deployment.url}/healthz"},
            check=False,
        )
        assert healthcheck.returncode == 0, healthcheck.stderr
    finally:
        deployment.close()
        receiver.stop()


def exists(emulator: Emulator, kind: str, physical_id: str) -> bool:
    """Whether the resource ``physical_id`` of type ``kind`` exists (an error answer: no)."""
    ecs, elb = emulator.root("ecs"), emulator.root("elbv2")
    checks: dict[str, Callable[[], object]] = {
        "AWS::DynamoDB::Table": lambda: emulator.root("dynamodb").describe_table(TableName=physical_id),
        "AWS::S3::Bucket": lambda: emulator.root("s3").head_bucket(Bucket=physical_id),
        "AWS::SQS::Queue": lambda: emulator.root("sqs").get_queue_attributes(QueueUrl=physical_id),
        "AWS::IAM::Role": lambda: emulator.root("iam").get_role(RoleName=physical_id),
        "AWS::EC2::SecurityGroup": lambda: emulator.root("ec2").describe_security_groups(
            GroupIds=[physical_id]
        ),
        "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda: elb.describe_load_balancers(
            LoadBalancerArns=[physical_id]
        )["LoadBalancers"],
        "AWS::ElasticLoadBalancingV2::TargetGroup": lambda: elb.describe_target_groups(
            TargetGroupArns=[physical_id]
        )["TargetGroups"],
        "AWS::ElasticLoadBalancingV2::Listener": lambda: elb.describe_listeners(ListenerArns=[physical_id])[
            "Listeners"
        ],
        "AWS::SNS::Topic": lambda: emulator.root("sns").get_topic_attributes(TopicArn=physical_id),
        "AWS::SecretsManager::Secret": lambda: (
            "DeletedDate" not in emulator.root("secretsmanager").describe_secret(SecretId=physical_id)
        ),
        "AWS::Logs::LogGroup": lambda: (
            physical_id
            in {
                group["logGroupName"]
                for group in emulator.root("logs").describe_log_groups(logGroupNamePrefix=physical_id)[
                    "logGroups"
                ]
            }
        ),
        "AWS::CloudWatch::Alarm": lambda: emulator.root("cloudwatch").describe_alarms(
            AlarmNames=[physical_id]
        )["MetricAlarms"],
        "AWS::ECS::Cluster": lambda: [
            cluster
            for cluster in ecs.describe_clusters(clusters=[physical_id])["clusters"]
            if cluster["status"] == "ACTIVE"
        ],
        "AWS::ECS::TaskDefinition": lambda: (
            ecs.describe_task_definition(taskDefinition=physical_id)["taskDefinition"]["status"] == "ACTIVE"
        ),
        "AWS::ECS::Service": lambda: [
            service
            for service in ecs.describe_services(cluster=physical_id.split("/")[-2], services=[physical_id])[
                "services"
            ]
            if service["status"] == "ACTIVE"
        ],
    }
    assert kind in checks, f"no check of {kind} ({physical_id})"
    try:
        return bool(checks[kind]())
    except ClientError:
        return False


def test_deleting_the_stack_leaves_the_table_and_the_bucket_and_nothing_else(ministack: Emulator) -> None:
    """Given a stack of its own, When it is deleted, Then the stack is DELETE_COMPLETE, its
    table and bucket are still there (DeletionPolicy Retain), and every other resource it
    made is gone."""
    deployed = create_stack(ministack)
    assert deployed.settled() == "CREATE_COMPLETE"
    made = {
        name: (resource["ResourceType"], resource["PhysicalResourceId"])
        for name, resource in deployed.resources().items()
    }
    assert all(exists(ministack, kind, physical) for kind, physical in made.values())

    ministack.root("cloudformation").delete_stack(StackName=deployed.stack_id)

    assert deployed.settled() == "DELETE_COMPLETE"
    left = {name for name, (kind, physical) in made.items() if exists(ministack, kind, physical)}
    assert left == {"JobsTable", "ArtifactsBucket"}


def test_an_update_rolls_out_a_new_image_and_keeps_the_table_the_bucket_and_their_data(
    ministack: Emulator,
) -> None:
    """Given a stack with webhooks, a job item and an artifact, When it is updated with a new
    Image and WorkerConcurrency (as docs/aws.md's update does) and without WebhookSecretArn,
    Then it reaches UPDATE_COMPLETE, both services run new task definitions with the new
    image, the Worker with the new concurrency, the Orchestrator without WEBHOOK_SECRET
    (which the execution role may no longer read), and the table and bucket are the same,
    with their data."""
    secret_arn = webhook_secret(ministack)
    deployed = create_stack(ministack, WebhookSecretArn=secret_arn)
    assert deployed.settled() == "CREATE_COMPLETE"
    before = {name: resource["PhysicalResourceId"] for name, resource in deployed.resources().items()}
    outputs = deployed.outputs
    ministack.root("dynamodb").put_item(TableName=outputs["JobsTable"], Item={"pk": {"S": "job#kept"}})
    ministack.root("s3").put_object(Bucket=outputs["ArtifactsBucket"], Key="jobs/kept/minimap.txt", Body=b"#")
    parameters = {
        parameter["ParameterKey"]: parameter["ParameterValue"]
        for parameter in deployed.describe()["Parameters"]
    }
    ecs_secrets = as_role(deployed, "secretsmanager", execution_role_environment(deployed))
    assert ecs_secrets.get_secret_value(SecretId=secret_arn)["SecretString"] == SECRET

    ministack.root("cloudformation").update_stack(
        StackName=deployed.stack_id,
        **stack_request(
            parameters | {"Image": "levelforge:next", "WorkerConcurrency": "3", "WebhookSecretArn": ""}
        ),
    )

    assert deployed.settled() == "UPDATE_COMPLETE"
    after = {name: resource["PhysicalResourceId"] for name, resource in deployed.resources().items()}
    assert {name for name in before if after[name] != before[name]} == {
        "OrchestratorTaskDefinition",
        "WorkerTaskDefinition",
    }
    ecs = ministack.root("ecs")
    services = ecs.describe_services(
        cluster=outputs["ClusterName"], services=[after["OrchestratorService"], after["WorkerService"]]
    )["services"]
    assert {service["taskDefinition"] for service in services} == {
        after["OrchestratorTaskDefinition"],
        after["WorkerTaskDefinition"],
    }
    (worker,) = ecs.describe_task_definition(taskDefinition=after["WorkerTaskDefinition"])["taskDefinition"][
        "containerDefinitions"
    ]
    assert (worker["image"], worker["command"]) == ("levelforge:next", ["worker", "--concurrency", "3"])
    (orchestrator,) = ecs.describe_task_definition(taskDefinition=after["OrchestratorTaskDefinition"])[
        "taskDefinition"
    ]["containerDefinitions"]
    assert orchestrator["image"] == "levelforge:next" and len(orchestrator["secrets"]) == 1
    assert denied(lambda: ecs_secrets.get_secret_value(SecretId=secret_arn))
    item = ministack.root("dynamodb").get_item(TableName=outputs["JobsTable"], Key={"pk": {"S": "job#kept"}})
    assert "Item" in item
    kept = ministack.root("s3").get_object(Bucket=outputs["ArtifactsBucket"], Key="jobs/kept/minimap.txt")
    assert kept["Body"].read() == b"#"
    ministack.root("cloudformation").delete_stack(StackName=deployed.stack_id)


@pytest.mark.parametrize(
    ("role", "cpu", "memory"), [("Orchestrator", "256", "4096"), ("Worker", "4096", "4096")]
)
def test_a_size_fargate_does_not_offer_is_refused_before_anything_is_made(
    ministack: Emulator, role: str, cpu: str, memory: str
) -> None:
    """Given a CPU and memory pair Fargate does not run, When a stack is created with it,
    Then CloudFormation refuses it (the template's Rules) naming the parameter, and no stack
    (so no table or bucket) is made."""
    name = unique("levelforge")
    request = stack_request(PARAMETERS | network(ministack) | {f"{role}Cpu": cpu, f"{role}Memory": memory})
    cloudformation = ministack.root("cloudformation")

    with pytest.raises(ClientError) as refused:
        cloudformation.create_stack(StackName=name, **request)

    assert aws.error_code(refused.value) == "ValidationError"
    assert f"{role}Memory must be one of" in str(refused.value)
    names = {summary["StackName"] for summary in cloudformation.list_stacks()["StackSummaries"]}
    assert name not in names

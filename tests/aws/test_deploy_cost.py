"""docs/aws.md's cost of a million jobs: its per-job counts are the measured ones
(test_aws_cost.py measures them: steps + 2 writes, one PutObject per artifact, three SQS
requests) and its arithmetic holds (quantity times unit price = cost, the total is the sum)."""

from __future__ import annotations

import re
from decimal import Decimal

from levelforge.generation.pipeline import GENERATION_STEPS
from levelforge.jobs import ARTIFACTS
from tests.aws.emulator import REPO

DOCS = REPO / "docs" / "aws.md"
MILLION = Decimal(1_000_000)
#: the steps a job reports: the generation's, then store_artifacts (CONTRACT §7)
STEPS = len(GENERATION_STEPS) + 1
#: keys-only index writes a job makes: byTenant at create, byTenantStatus at create and
#: two for each of its two status changes (the old entry deleted, the new one put)
INDEX_WRITES = 1 + 1 + 2 + 2


def cost_rows() -> list[list[str]]:
    text = DOCS.read_text()
    section = text[text.index("## 6. What a million jobs cost"):]
    table = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table[1:]]


def number(text: str) -> Decimal:
    found = re.search(r"[\d,]*\.?\d+", text.replace("**", ""))
    assert found, text
    return Decimal(found.group(0).replace(",", ""))


def unit_price(text: str) -> Decimal:
    """'$0.625 per million' → price of one; '$0.005 per 1,000' → of one; '$x per vCPU-hour' → of one hour."""
    price = number(text)
    if "per million" in text:
        return price / MILLION
    if "per 1,000" in text:
        return price / 1000
    return price


def quantity(text: str) -> Decimal:
    """'18 M' → 18,000,000; '5.20 vCPU-h' → 5.20."""
    value = number(text)
    return value * MILLION if text.endswith(" M") else value


def test_the_cost_table_counts_the_measured_requests_and_adds_up() -> None:
    """Given the table of docs/aws.md section 6, Then its per-job DynamoDB writes are
    steps + 2 plus the index writes, its S3 PUTs one per artifact, its SQS requests three;
    a million jobs make a million times those; each cost is its quantity at its unit price
    (to the cent), and the total is their sum."""
    rows = cost_rows()
    by_item = {row[0].split(":")[0].split(" (")[0]: row for row in rows}
    assert number(by_item["DynamoDB write units"][1]) == STEPS + 2 + INDEX_WRITES
    assert number(by_item["S3 PUT"][1]) == len(ARTIFACTS)
    assert number(by_item["SQS requests"][1]) == 3
    assert number(by_item["DynamoDB reads while running a job"][1]) == 0

    costs = Decimal(0)
    for item, per_job, per_million, price, cost in rows[:-1]:
        if per_million.endswith(" M") or per_million == "0":
            assert quantity(per_million) == number(per_job) * MILLION, item
        stated = number(cost)
        assert abs(quantity(per_million) * unit_price(price) - stated) <= Decimal("0.005"), item
        costs += stated
    *_, total = rows[-1]
    assert number(total) == costs


def test_the_compute_line_is_a_million_jobs_at_the_stated_rate() -> None:
    """Given the Fargate lines, Then the vCPU-hours are a million jobs at the stated jobs/s
    per vCPU, and the GB-hours twice those (2 GB per vCPU)."""
    rows = {row[0].split(":")[0]: row for row in cost_rows()}
    vcpu, memory = rows["Fargate vCPU"], rows["Fargate memory"]
    rate = Decimal(re.search(r"÷ ([\d.]+) jobs/s", vcpu[0]).group(1))  # type: ignore[union-attr]
    hours = MILLION / rate / 3600
    assert abs(hours - quantity(vcpu[2])) < Decimal("0.005")
    assert abs(2 * hours - quantity(memory[2])) < Decimal("0.01")

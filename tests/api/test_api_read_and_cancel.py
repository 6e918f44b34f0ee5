"""GET /status/{id}, GET /jobs/{id}, GET /jobs and POST /jobs/{id}/cancel (CONTRACT §2)."""

from __future__ import annotations

import base64
import json

import pytest

from levelforge.jobs import new_job_id
from tests.api.orchestrator_calls import TOKEN, assert_error, complete, create_job, get_job, post_step


def test_status_and_job_routes_give_the_same_resource(client) -> None:
    job = create_job(client)

    by_status = client.get(f"/status/{job['id']}")
    by_job = client.get(f"/jobs/{job['id']}")

    assert by_status.status_code == by_job.status_code == 200
    assert by_status.json() == by_job.json() == job


@pytest.mark.parametrize("route", ["/status/{}", "/jobs/{}", "/jobs/{}/cancel"])
@pytest.mark.parametrize("job_id", [new_job_id(), "not-a-ulid"])
def test_unknown_job_is_404(client, route, job_id) -> None:
    path = route.format(job_id)
    response = client.post(path) if path.endswith("/cancel") else client.get(path)

    assert_error(response, 404, "not_found")


def test_jobs_are_listed_newest_first(client) -> None:
    created = [create_job(client, {"seed": n}) for n in range(5)]

    listed = client.get("/jobs").json()["jobs"]

    assert {job["id"] for job in listed} == {job["id"] for job in created}
    order = [(job["createdAt"], job["id"]) for job in listed]
    assert order == sorted(order, reverse=True)
    # ULIDs grow with time: the last created is listed first
    assert listed[0]["id"] == max(job["id"] for job in created)
    assert listed == [get_job(client, job["id"]) for job in listed]


def test_list_filters_by_status(client) -> None:
    # Given a queued, a running, a done and a failed job
    queued, running, done, failed = (create_job(client, {"seed": n}) for n in range(4))
    assert post_step(client, running["id"], TOKEN).status_code == 200
    assert complete(client, done["id"], TOKEN, {"summary": {}}).status_code == 200
    assert client.post(f"/jobs/{failed['id']}/cancel").status_code == 200

    # When each status is listed, Then only its job is there
    for status, job in [("queued", queued), ("running", running), ("done", done), ("failed", failed)]:
        page = client.get("/jobs", params={"status": status}).json()
        assert [listed["id"] for listed in page["jobs"]] == [job["id"]], status
        assert page["nextCursor"] is None


def test_limit_defaults_to_20_and_accepts_1_and_100(client) -> None:
    for n in range(21):
        create_job(client, {"seed": n})

    default = client.get("/jobs").json()
    one = client.get("/jobs", params={"limit": 1}).json()
    hundred = client.get("/jobs", params={"limit": 100}).json()

    assert len(default["jobs"]) == 20
    assert default["nextCursor"] is not None
    assert len(one["jobs"]) == 1
    assert one["jobs"][0] == default["jobs"][0]
    assert len(hundred["jobs"]) == 21
    assert hundred["nextCursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "abc"}, "limit"),
        ({"limit": "-1"}, "limit"), ({"limit": "1.5"}, "limit"),
        ({"status": "finished"}, "status"), ({"status": "DONE"}, "status"),
        ({"cursor": "garbage!!"}, "cursor"), ({"cursor": "x" * 600}, "cursor"),
    ],
)
def test_bad_query_parameter_is_422_naming_it(client, params, field) -> None:
    create_job(client)

    body = assert_error(client.get("/jobs", params=params), 422, "validation_error")

    assert field in body["message"]
    assert field in [detail["field"] for detail in body["details"]]


def test_paging_walks_every_job_once_newest_first(client) -> None:
    # Given 45 jobs
    created = {create_job(client, {"seed": n})["id"] for n in range(45)}

    # When the pages are followed from the first to the last
    seen: list[dict] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        page = client.get("/jobs", params=params).json()
        pages += 1
        seen += page["jobs"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
        assert pages < 10, "paging does not end"

    # Then each job is seen exactly once, in newest-first order, in 5 pages
    ids = [job["id"] for job in seen]
    assert len(ids) == len(set(ids)) == 45
    assert set(ids) == created
    order = [(job["createdAt"], job["id"]) for job in seen]
    assert order == sorted(order, reverse=True)
    assert pages == 5


def test_paging_a_status_filter_ends_with_a_null_cursor(client) -> None:
    jobs = [create_job(client, {"seed": n}) for n in range(5)]
    for job in jobs[:3]:
        client.post(f"/jobs/{job['id']}/cancel")

    first = client.get("/jobs", params={"status": "failed", "limit": 2}).json()
    params = {"status": "failed", "limit": 2, "cursor": first["nextCursor"]}
    second = client.get("/jobs", params=params).json()

    assert len(first["jobs"]) == 2
    assert len(second["jobs"]) == 1
    assert second["nextCursor"] is None
    assert {j["id"] for j in first["jobs"] + second["jobs"]} == {j["id"] for j in jobs[:3]}


def first_cursor(client, **params: str) -> str:
    for n in range(3):
        create_job(client, {"seed": n})
    cursor = client.get("/jobs", params={"limit": 1, **params}).json()["nextCursor"]
    assert isinstance(cursor, str)
    return cursor


def decoded(cursor: str) -> dict:
    payload = cursor.partition(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def encoded(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_cursor_of_another_status_filter_is_422(client) -> None:
    cursor = first_cursor(client, status="queued")

    assert_error(client.get("/jobs", params={"cursor": cursor}), 422, "validation_error")
    assert_error(client.get("/jobs", params={"cursor": cursor, "status": "done"}), 422, "validation_error")
    assert client.get("/jobs", params={"cursor": cursor, "status": "queued"}).status_code == 200


def test_cursor_with_altered_bytes_is_422(client) -> None:
    cursor = first_cursor(client)
    altered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]

    assert_error(client.get("/jobs", params={"cursor": altered}), 422, "validation_error")


def test_cursor_not_issued_by_this_server_is_422(client) -> None:
    # Given a cursor the server issued, rewritten by a client to point elsewhere (valid shape)
    cursor = first_cursor(client)
    signature = cursor.partition(".")[2]
    forged = encoded({**decoded(cursor), "i": new_job_id(), "t": "2030-01-01T00:00:00.000Z"})
    forged = f"{forged}.{signature}"

    # Then the server refuses it: CONTRACT §2, "a cursor this server did not issue" is 422
    assert_error(client.get("/jobs", params={"cursor": forged}), 422, "validation_error")


def test_cancel_a_queued_job_fails_it_as_cancelled(client) -> None:
    job = create_job(client)

    response = client.post(f"/jobs/{job['id']}/cancel")

    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["id"] == job["id"]
    assert cancelled["status"] == "failed"
    assert cancelled["error"]["code"] == "cancelled"
    assert cancelled["error"]["message"]
    assert cancelled["result"] is None
    assert cancelled == get_job(client, job["id"])


def test_cancel_a_running_job_fails_it_and_keeps_its_steps(client) -> None:
    job = create_job(client)
    post_step(client, job["id"], TOKEN)

    cancelled = client.post(f"/jobs/{job['id']}/cancel").json()

    assert cancelled["status"] == "failed"
    assert cancelled["error"]["code"] == "cancelled"
    assert [step["name"] for step in cancelled["steps"]] == ["plan_layout"]


@pytest.mark.parametrize("finish", ["cancel", "complete"])
def test_cancel_of_a_terminal_job_is_409_and_changes_nothing(client, finish) -> None:
    job = create_job(client)
    if finish == "cancel":
        client.post(f"/jobs/{job['id']}/cancel")
    else:
        complete(client, job["id"], TOKEN, {"summary": {"rooms": 1}})
    before = get_job(client, job["id"])

    response = client.post(f"/jobs/{job['id']}/cancel")

    body = assert_error(response, 409, "job_terminal")
    assert body["status"] == before["status"]
    assert get_job(client, job["id"]) == before

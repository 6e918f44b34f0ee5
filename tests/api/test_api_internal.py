"""The internal API of workers (CONTRACT §6): the token, step events, complete and fail."""

from __future__ import annotations

import json

import pytest

from levelforge.api.app import create_app
from levelforge.config import Settings
from levelforge.jobs import new_job_id
from tests.api.orchestrator_calls import (
    PIPELINE,
    TOKEN,
    assert_error,
    complete,
    create_job,
    fail,
    get_job,
    post_step,
    step_event,
)

INTERNAL_LIMIT = 1024 * 1024
ROUTES = ["step", "complete", "fail"]


def valid_body(route: str, job_id: str) -> dict:
    return {
        "step": step_event(job_id),
        "complete": {"result": {"summary": {"rooms": 1}}},
        "fail": {"error": {"message": "boom"}},
    }[route]


# --- the token -------------------------------------------------------------------------

@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"X-INTERNAL-TOKEN": "wrong"}, id="wrong"),
        pytest.param({"X-INTERNAL-TOKEN": ""}, id="empty"),
        pytest.param({"X-INTERNAL-TOKEN": TOKEN + "x"}, id="longer"),
        pytest.param({"X-INTERNAL-TOKEN": TOKEN[:-1]}, id="prefix"),
        pytest.param({"Authorization": f"Bearer {TOKEN}"}, id="other-header"),
    ],
)
def test_internal_route_without_the_right_token_is_401_and_changes_nothing(client, route, headers) -> None:
    job = create_job(client)

    response = client.post(
        f"/internal/jobs/{job['id']}/{route}", json=valid_body(route, job["id"]), headers=headers
    )

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.json()["message"]
    assert get_job(client, job["id"]) == job


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("given", ["", "None", "anything", TOKEN])
def test_no_internal_token_configured_refuses_everything(
    db_path, store, queue, make_client, route, given
) -> None:
    # Given an Orchestrator with no INTERNAL_TOKEN at all
    app = create_app(Settings(internal_token=None, database_path=db_path), store, queue,
                     consume_dead_letters=False)
    client = make_client(app)
    job = create_job(client)

    # When a worker posts with any token
    response = client.post(
        f"/internal/jobs/{job['id']}/{route}", json=valid_body(route, job["id"]),
        headers={"X-INTERNAL-TOKEN": given},
    )

    # Then it is refused, and the public API still works
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert get_job(client, job["id"]) == job


def test_two_comma_separated_tokens_are_both_accepted(db_path, store, queue, make_client) -> None:
    app = create_app(Settings(internal_token="old-one, new-one", database_path=db_path), store, queue,
                     consume_dead_letters=False)
    client = make_client(app)
    job = create_job(client)

    old = post_step(client, job["id"], "old-one", "plan_layout")
    new = post_step(client, job["id"], "new-one", "carve_rooms")
    both = post_step(client, job["id"], "old-one, new-one", "connect_rooms")

    assert (old.status_code, new.status_code) == (200, 200)
    assert both.status_code == 401


def test_public_routes_never_need_the_token(db_path, store, queue, make_client) -> None:
    app = create_app(Settings(internal_token=None, database_path=db_path), store, queue,
                     consume_dead_letters=False)
    client = make_client(app)

    job = create_job(client, {"seed": 1}, **{"X-INTERNAL-TOKEN": "wrong"})

    assert client.get(f"/status/{job['id']}").status_code == 200
    assert client.get("/jobs").status_code == 200
    assert client.post(f"/jobs/{job['id']}/cancel").status_code == 200
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("route", ROUTES)
def test_401_comes_before_413_422_and_404(client, route) -> None:
    unknown = new_job_id()
    oversized = b" " * (INTERNAL_LIMIT + 1)

    for content in (oversized, b"{not json", json.dumps(valid_body(route, unknown)).encode()):
        response = client.post(
            f"/internal/jobs/{unknown}/{route}", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "unauthorized"


# --- body limits of internal routes ----------------------------------------------------

def padded_result(size: int) -> bytes:
    head, tail = b'{"result": {"summary": {"rooms": 1}}', b"}"
    return head + b" " * (size - len(head) - len(tail)) + tail


def test_internal_body_of_exactly_1_mib_is_accepted(client, internal) -> None:
    job = create_job(client)
    body = padded_result(INTERNAL_LIMIT)

    response = client.post(
        f"/internal/jobs/{job['id']}/complete", content=body,
        headers={**internal, "Content-Type": "application/json"},
    )

    assert len(body) == INTERNAL_LIMIT
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "done"


def test_internal_body_over_64_kib_is_not_held_to_the_public_limit(client, internal) -> None:
    job = create_job(client)
    result = {"summary": {"rooms": 1}, "asciiMinimap": "#" * (200 * 1024)}

    response = complete(client, job["id"], TOKEN, result)

    assert response.status_code == 200, response.text
    assert get_job(client, job["id"])["result"] == result


def test_internal_body_one_byte_over_1_mib_is_413(client, internal) -> None:
    job = create_job(client)

    response = client.post(
        f"/internal/jobs/{job['id']}/complete", content=padded_result(INTERNAL_LIMIT + 1),
        headers={**internal, "Content-Type": "application/json"},
    )

    assert_error(response, 413, "payload_too_large")
    assert get_job(client, job["id"]) == job


def test_chunked_internal_body_over_1_mib_is_413(client, internal) -> None:
    job = create_job(client)
    body = padded_result(INTERNAL_LIMIT + 1)

    response = client.post(
        f"/internal/jobs/{job['id']}/complete",
        content=(body[i:i + 65536] for i in range(0, len(body), 65536)),
        headers={**internal, "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")
    assert get_job(client, job["id"]) == job


# --- step events ----------------------------------------------------------------------

def test_first_step_is_recorded_and_makes_the_job_running(client) -> None:
    job = create_job(client)

    response = post_step(client, job["id"], TOKEN)

    assert response.status_code == 200
    assert response.json() == {"recorded": True, "status": "running"}
    after = get_job(client, job["id"])
    assert after["status"] == "running"
    assert after["steps"] == [step_event(job["id"])]
    assert after["updatedAt"] >= job["updatedAt"]


def test_same_step_again_is_a_duplicate_and_recorded_once(client) -> None:
    job = create_job(client)
    post_step(client, job["id"], TOKEN)

    again = post_step(client, job["id"], TOKEN, summary="a retried worker's summary")

    assert again.status_code == 200
    assert again.json() == {"recorded": False, "duplicate": True, "status": "running"}
    assert get_job(client, job["id"])["steps"] == [step_event(job["id"])]


def test_steps_are_kept_in_arrival_order(client) -> None:
    job = create_job(client)
    arrival = ["connect_rooms", "plan_layout", "place_doors", "carve_rooms"]

    answers = [post_step(client, job["id"], TOKEN, name).json() for name in arrival]

    assert answers == [{"recorded": True, "status": "running"}] * 4
    assert [step["name"] for step in get_job(client, job["id"])["steps"]] == arrival


def test_step_of_another_job_or_another_name_is_422(client) -> None:
    job, other = create_job(client, {"seed": 1}), create_job(client, {"seed": 2})

    foreign = post_step(client, job["id"], TOKEN, stepId=f"{other['id']}:plan_layout")
    mismatched = post_step(client, job["id"], TOKEN, stepId=f"{job['id']}:carve_rooms")
    bare = post_step(client, job["id"], TOKEN, stepId="plan_layout")

    for response in (foreign, mismatched, bare):
        body = assert_error(response, 422, "validation_error")
        assert "stepId" in body["message"]
    assert get_job(client, job["id"]) == job
    assert get_job(client, other["id"]) == other


MALFORMED_STEPS = [
    pytest.param({"summary": None}, id="summary-null"),
    pytest.param({"durationMs": "3"}, id="duration-string"),
    pytest.param({"durationMs": -1}, id="duration-negative"),
    pytest.param({"durationMs": True}, id="duration-bool"),
    pytest.param({"startedAt": "2025-12-25 12:00:00.000Z"}, id="started-no-T"),
    pytest.param({"startedAt": "2025-12-25T12:00:00Z"}, id="started-no-millis"),
    pytest.param({"endedAt": "2025-12-25T12:00:00.000+00:00"}, id="ended-offset"),
    pytest.param({"endedAt": 1735128000000}, id="ended-number"),
    pytest.param({"status": "done"}, id="status-not-ok-or-error"),
    pytest.param({"status": "OK"}, id="status-case"),
    pytest.param({"extra": 1}, id="unknown-field"),
    pytest.param({"summary": "x" * 501}, id="summary-too-long"),
]


@pytest.mark.parametrize("changes", MALFORMED_STEPS)
def test_malformed_step_is_422_and_records_nothing(client, changes) -> None:
    job = create_job(client)

    response = post_step(client, job["id"], TOKEN, **changes)

    assert_error(response, 422, "validation_error")
    assert get_job(client, job["id"]) == job


@pytest.mark.parametrize(
    "missing", ["stepId", "name", "startedAt", "endedAt", "durationMs", "summary", "status"]
)
def test_step_missing_a_field_is_422_naming_it(client, internal, missing) -> None:
    job = create_job(client)
    event = step_event(job["id"])
    del event[missing]

    response = client.post(f"/internal/jobs/{job['id']}/step", json=event, headers=internal)

    body = assert_error(response, 422, "validation_error")
    assert missing in body["message"]
    assert get_job(client, job["id"]) == job


@pytest.mark.parametrize("content", [b"{nope", b"[]", b'"step"', b""])
@pytest.mark.parametrize("route", ROUTES)
def test_internal_body_that_is_not_an_object_is_422(client, internal, route, content) -> None:
    job = create_job(client)

    response = client.post(
        f"/internal/jobs/{job['id']}/{route}", content=content,
        headers={**internal, "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"] in {"invalid_json", "validation_error"}
    assert get_job(client, job["id"]) == job


@pytest.mark.parametrize("route", ROUTES)
def test_internal_route_of_unknown_job_is_404(client, route) -> None:
    unknown = new_job_id()

    response = client.post(
        f"/internal/jobs/{unknown}/{route}", json=valid_body(route, unknown),
        headers={"X-INTERNAL-TOKEN": TOKEN},
    )

    assert_error(response, 404, "not_found")


def test_new_step_of_a_done_job_is_409_with_its_status(client) -> None:
    job = create_job(client)
    post_step(client, job["id"], TOKEN)
    complete(client, job["id"], TOKEN, {"summary": {}})
    before = get_job(client, job["id"])

    response = post_step(client, job["id"], TOKEN, "carve_rooms")

    assert response.status_code == 409
    assert response.json()["error"] == "job_terminal"
    assert response.json()["status"] == "done"
    assert get_job(client, job["id"]) == before


def test_new_step_of_a_failed_job_is_409_with_its_status(client) -> None:
    job = create_job(client)
    client.post(f"/jobs/{job['id']}/cancel")

    response = post_step(client, job["id"], TOKEN)

    assert response.status_code == 409
    assert response.json() | {"message": ""} == {"error": "job_terminal", "status": "failed", "message": ""}


def test_repeated_step_of_a_terminal_job_changes_nothing(client) -> None:
    # A worker re-running a finished job re-posts a step it already recorded
    job = create_job(client)
    post_step(client, job["id"], TOKEN)
    complete(client, job["id"], TOKEN, {"summary": {}})
    before = get_job(client, job["id"])

    response = post_step(client, job["id"], TOKEN)

    assert response.status_code in (200, 409)
    assert response.json().get("recorded") is not True
    assert response.json()["status"] == "done"
    assert get_job(client, job["id"]) == before


# --- complete and fail ------------------------------------------------------------------

def test_complete_makes_the_job_done_with_its_result(client) -> None:
    job = create_job(client)
    for name in PIPELINE:
        post_step(client, job["id"], TOKEN, name)
    result = {"summary": {"rooms": 12, "doors": 18, "enemies": 6}, "asciiMinimap": "#..#\n"}

    response = complete(client, job["id"], TOKEN, result)

    assert response.status_code == 200
    done = response.json()
    assert done["status"] == "done"
    assert done["result"] == result
    assert done["error"] is None
    assert [step["name"] for step in done["steps"]] == list(PIPELINE)
    assert done == get_job(client, job["id"])


def test_complete_of_a_queued_job_is_allowed(client) -> None:
    job = create_job(client)

    assert complete(client, job["id"], TOKEN, {"summary": {}}).json()["status"] == "done"


def test_complete_again_is_409_and_keeps_the_first_result(client) -> None:
    job = create_job(client)
    complete(client, job["id"], TOKEN, {"summary": {"rooms": 1}})
    before = get_job(client, job["id"])

    response = complete(client, job["id"], TOKEN, {"summary": {"rooms": 2}})

    body = assert_error(response, 409, "job_terminal")
    assert body["status"] == "done"
    assert get_job(client, job["id"]) == before


def test_fail_makes_the_job_failed_and_keeps_its_steps(client) -> None:
    job = create_job(client)
    post_step(client, job["id"], TOKEN, "plan_layout")
    post_step(client, job["id"], TOKEN, "carve_rooms")
    error = {"message": "no valid level", "code": "generation_failed", "details": {"attempts": 8}}

    response = fail(client, job["id"], TOKEN, error)

    assert response.status_code == 200
    failed = response.json()
    assert failed["status"] == "failed"
    assert failed["error"] == error
    assert failed["result"] is None
    assert [step["name"] for step in failed["steps"]] == ["plan_layout", "carve_rooms"]
    assert failed == get_job(client, job["id"])


def test_fail_with_only_a_message(client) -> None:
    job = create_job(client)

    failed = fail(client, job["id"], TOKEN, {"message": "boom"}).json()

    assert failed["status"] == "failed"
    assert failed["error"]["message"] == "boom"
    assert failed["error"].get("code") is None


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("complete", {}), ("complete", {"result": "x"}), ("complete", {"result": None}),
        ("complete", {"result": {}, "extra": 1}), ("complete", {"result": [1]}),
        ("fail", {}), ("fail", {"error": "boom"}), ("fail", {"error": {}}),
        ("fail", {"error": {"message": ""}}), ("fail", {"error": {"message": 1}}),
        ("fail", {"error": {"message": "m", "code": 5}}), ("fail", {"error": {"message": "m", "other": 1}}),
        ("fail", {"error": {"message": "m", "details": "x"}}),
    ],
)
def test_malformed_complete_or_fail_is_422(client, internal, route, body) -> None:
    job = create_job(client)

    response = client.post(f"/internal/jobs/{job['id']}/{route}", json=body, headers=internal)

    assert_error(response, 422, "validation_error")
    assert get_job(client, job["id"]) == job


@pytest.mark.parametrize("finish", ["complete", "fail", "cancel"])
def test_a_terminal_job_never_changes_again(client, finish) -> None:
    # Given a job that ran a step and then finished one way or another
    job = create_job(client)
    post_step(client, job["id"], TOKEN, "plan_layout")
    if finish == "complete":
        complete(client, job["id"], TOKEN, {"summary": {"rooms": 1}})
    elif finish == "fail":
        fail(client, job["id"], TOKEN, {"message": "boom", "code": "x"})
    else:
        client.post(f"/jobs/{job['id']}/cancel")
    before = get_job(client, job["id"])
    assert before["status"] in {"done", "failed"}

    # When every write is tried again
    answers = [
        post_step(client, job["id"], TOKEN, "carve_rooms"),
        complete(client, job["id"], TOKEN, {"summary": {"rooms": 9}}),
        fail(client, job["id"], TOKEN, {"message": "late"}),
        client.post(f"/jobs/{job['id']}/cancel"),
    ]

    # Then each is 409 with the job's status, and the job is exactly as it was
    for response in answers:
        body = assert_error(response, 409, "job_terminal")
        assert body["status"] == before["status"]
    assert get_job(client, job["id"]) == before


@pytest.mark.parametrize(
    ("route", "content"),
    [
        pytest.param("complete", b'{"result": {"summary": {"rooms": NaN}}}', id="complete-NaN"),
        pytest.param("complete", b'{"result": {"score": Infinity}}', id="complete-Infinity"),
        pytest.param("fail", b'{"error": {"message": "m", "details": {"x": -Infinity}}}', id="fail-Infinity"),
    ],
)
def test_non_json_number_in_a_worker_body_is_422_not_503(client, internal, route, content) -> None:
    # NaN and Infinity are not JSON (RFC 8259), though Python's parser accepts them
    job = create_job(client)

    response = client.post(
        f"/internal/jobs/{job['id']}/{route}", content=content,
        headers={**internal, "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert get_job(client, job["id"]) == job


def test_deeply_nested_json_in_a_worker_body_is_422(client, internal) -> None:
    job = create_job(client)

    response = client.post(
        f"/internal/jobs/{job['id']}/complete", content=b'{"result": ' + b"[" * 60_000,
        headers={**internal, "Content-Type": "application/json"},
    )

    assert_error(response, 422, "invalid_json")
    assert get_job(client, job["id"]) == job


def test_a_result_is_kept_as_sent_whatever_its_layout(client, internal) -> None:
    # Given a result sent with spaces, new lines, escapes and non-ASCII text
    job = create_job(client)
    result = {"summary": {"rooms": 3}, "asciiMinimap": "#.@\n#>#\n", "note": "caf\u00e9 \u2603",
              "n": [1, 2.5]}
    content = b'{ "result" :\n' + json.dumps(result, indent=2, ensure_ascii=True).encode() + b" }"

    # When it completes the job
    response = client.post(
        f"/internal/jobs/{job['id']}/complete", content=content,
        headers={**internal, "Content-Type": "application/json"},
    )

    # Then the job and its answer carry the same result, and the result is read back as sent
    assert response.status_code == 200, response.text
    assert response.json()["result"] == result
    assert get_job(client, job["id"])["result"] == result
    assert get_job(client, job["id"])["status"] == "done"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"result": {"note": "\xff"}}', id="not-utf8"),
        pytest.param(b'{"result": {"a": 1}, "result2": {}}', id="unknown-field"),
        pytest.param(b'{"result": {"a": [1, }}', id="malformed"),
        pytest.param(b'{"result": {"a": 1}} trailing', id="trailing"),
        pytest.param(b'{"result": {"a": "\\ud800"}}', id="lone-surrogate"),
    ],
)
def test_a_completion_that_is_not_strict_json_of_its_shape_is_422_and_writes_nothing(
    client, internal, content
) -> None:
    job = create_job(client)

    response = client.post(
        f"/internal/jobs/{job['id']}/complete", content=content,
        headers={**internal, "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert get_job(client, job["id"]) == job

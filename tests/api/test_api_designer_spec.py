"""POST /jobs with the designer's fields (CONTRACT §4.1), through the real Orchestrator
app: the issue's example accepted, recorded normalised and run by a worker into a level
meeting every constraint; specs no level can meet refused with 422 naming the field by
its path, nothing queued."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from levelforge.api import app as app_module
from levelforge.config import Settings
from levelforge.errors import SpecError
from levelforge.generation import design, generate_level
from levelforge.generation import spec as spec_module
from levelforge.generation.spec import parse_spec
from levelforge.queues.local import LocalQueue
from levelforge.reporter import Reporter
from levelforge.stores.sqlite import SqliteJobStore
from levelforge.worker import Worker
from tests.api.live_server import LiveServer
from tests.api.orchestrator_calls import TOKEN, assert_error
from tests.generation.checker import Level, check_level, measured
from tests.generation.designs import BEYOND_THE_BANDS, EXAMPLE, ONLY_ON_PAPER, SHRINE


def run_one_message(queue: LocalQueue, server: LiveServer, settings: Settings) -> None:
    """A worker reporting to ``server`` takes the one message queued and handles it."""
    (message,) = queue.receive(max_messages=10)
    stop = threading.Event()
    reporter = Reporter(server.url, TOKEN, stop=stop)
    try:
        Worker(queue, reporter, None, settings, stop).handle(message)
    finally:
        reporter.close()


def test_the_example_is_accepted_recorded_and_generated_meeting_every_constraint(
    settings: Settings,
    store: SqliteJobStore,
    queue: LocalQueue,
    serve: Callable[..., LiveServer],
) -> None:
    """Given the Orchestrator serving on a free port and a worker reporting to it
    When the issue's example is posted and the worker takes its message
    Then the job is accepted with the spec normalised (constraints and prefabs kept), and
    ends done with a level the checker passes, as generate_level makes it: the path of
    6 rooms or more, 2-3 locks, 3 treasures or more, one copy tagged prefab:shrine."""
    server = serve(store)
    with server.client() as http:
        response = http.post("/jobs", json=EXAMPLE)
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["spec"]["constraints"] == EXAMPLE["constraints"]
        assert job["spec"]["prefabs"] == [{"name": "shrine", "map": SHRINE, "count": 1, "placement": "side"}]

        run_one_message(queue, server, settings)
        done = http.get(f"/jobs/{job['id']}").json()

    assert done["status"] == "done", done["error"]
    graph, minimap = done["result"]["sceneGraph"], done["result"]["asciiMinimap"]
    assert check_level(done["spec"], graph, minimap) == []
    counts = measured(Level(graph, minimap))
    assert counts["critical_path_rooms"] >= 6 and 2 <= counts["locks"] <= 3 and counts["treasures"] >= 3
    assert sum("prefab:shrine" in room["tags"] for room in graph["rooms"]) == 1
    assert json.dumps(graph, separators=(",", ":")) == json.dumps(
        generate_level(EXAMPLE).scene_graph, separators=(",", ":")
    )


def test_a_spec_only_the_generators_whole_search_plans_is_accepted_and_made(
    settings: Settings,
    store: SqliteJobStore,
    queue: LocalQueue,
    serve: Callable[..., LiveServer],
) -> None:
    """Given three 4x5 copies in 5 rooms of a 16x24 map (the banded layout cannot hold
    them; the generator's witness search plans them) and a seed whose own search does not
    When it is posted and a worker takes its message
    Then the job is accepted and ends done with a level the checker passes, three copies
    tagged prefab:vault."""
    server = serve(store)
    with server.client() as http:
        spec = {**BEYOND_THE_BANDS["three-copies-in-5-rooms-of-16x24"], "seed": 1}
        response = http.post("/jobs", json=spec)
        assert response.status_code == 202, response.text
        job = response.json()

        run_one_message(queue, server, settings)
        done = http.get(f"/jobs/{job['id']}").json()

    assert done["status"] == "done", done["error"]
    graph, minimap = done["result"]["sceneGraph"], done["result"]["asciiMinimap"]
    assert check_level(done["spec"], graph, minimap) == []
    assert sum("prefab:vault" in room["tags"] for room in graph["rooms"]) == 3
    assert json.dumps(graph, separators=(",", ":")) == json.dumps(
        generate_level(spec).scene_graph, separators=(",", ":")
    )


def with_prefab(**fields: Any) -> dict[str, Any]:
    spec = copy.deepcopy(EXAMPLE)
    spec["prefabs"][0].update(fields)
    return spec


REFUSED = [
    pytest.param(
        with_prefab(map=["+####", "#...#", "#...#", "#...#", "#####"]), "prefabs[0].map", id="door-in-corner"
    ),
    pytest.param(
        with_prefab(map=["##+##", "#...#", "#....#", "#...#", "#####"]), "prefabs[0].map", id="ragged"
    ),
    pytest.param(with_prefab(map=["##+##", *["#...#"] * 31, "#####"]), "prefabs[0].map", id="33-rows"),
    pytest.param(
        {**EXAMPLE, "prefabs": [*EXAMPLE["prefabs"], *EXAMPLE["prefabs"]]}, "prefabs[1].name", id="same-name"
    ),
    pytest.param({**EXAMPLE, "constraints": {"locks": {"min": 14}}}, "constraints.locks.min", id="locks-min"),
    pytest.param(
        {**EXAMPLE, "constraints": {"critical_path_rooms": {"min": 15}}},
        "constraints.critical_path_rooms.min",
        id="path-min",
    ),
    pytest.param({**EXAMPLE, "constraints": {"enemies": {"max": "3"}}}, "constraints.enemies.max", id="type"),
]


@pytest.mark.parametrize(("spec", "field"), REFUSED)
def test_a_spec_no_level_can_meet_is_422_naming_the_field_and_nothing_is_queued(
    client: Any, queue: LocalQueue, spec: dict[str, Any], field: str
) -> None:
    """Given the example broken in one designer field
    When it is posted
    Then it is refused with 422 naming the field by its path, and nothing is queued."""
    response = client.post("/jobs", json=spec)

    body = assert_error(response, 422, "validation_error")
    assert body["message"].startswith(f"{field}: ")
    assert body["details"][0]["field"] == field
    assert queue.receive(max_messages=10) == []


def test_a_spec_the_witness_search_refuses_is_422_found_off_the_event_loop(
    store: SqliteJobStore,
    queue: LocalQueue,
    serve: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given a spec whose acceptance rests on the generator's witness search, which finds
    no plan for it (three one-sided critical copies in 7 rooms of a 28x24 map)
    When it is posted to a running Orchestrator
    Then it is refused with the 422 the spec's validation gives elsewhere (the field, the
    message), nothing is queued, and the search ran in a thread other than the one that
    serves the requests (it may take up to a second)."""
    spec = {**ONLY_ON_PAPER["three-one-sided-critical-copies-in-7-rooms"], "seed": 3}
    with pytest.raises(SpecError) as elsewhere:
        parse_spec(spec)
    threads: dict[str, set[int]] = {"loop": set(), "search": set()}
    aside, search = app_module.put_witness_aside, design.witness_plan

    def put_aside() -> None:
        threads["loop"].add(threading.get_ident())
        aside()

    def searched(*args: Any) -> Any:
        threads["search"].add(threading.get_ident())
        return search(*args)

    monkeypatch.setattr(app_module, "put_witness_aside", put_aside)
    monkeypatch.setattr(spec_module, "witness_plan", searched)
    design._witness_kept.cache_clear()
    server = serve(store)
    with server.client() as http:
        response = http.post("/jobs", json=spec)

    body = assert_error(response, 422, "validation_error")
    assert body["message"] == f"{elsewhere.value.field}: {elsewhere.value.message}"
    assert body["details"][0]["field"] == elsewhere.value.field == "prefabs[1].map"
    assert queue.receive(max_messages=10) == []
    assert len(threads["loop"]) == 1 and threads["search"]
    assert threads["search"].isdisjoint(threads["loop"])

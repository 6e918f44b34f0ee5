"""The job result a worker reports (``artifacts.results``): its JSON artifacts travel as
their own bytes, and the encoded result means exactly the decoded one."""

from __future__ import annotations

import json

from levelforge.artifacts.results import RawJson, decoded, encode_result, publish
from levelforge.generation import generate_level


def test_the_encoded_result_carries_each_json_artifact_byte_for_byte() -> None:
    """Given a level's four artifacts in demo mode (everything inline)
    When the worker encodes the result it reports
    Then the encoding parses to the decoded result, and each JSON artifact's bytes stand in
    it unchanged."""
    level = generate_level({"seed": 11, "width": 40, "height": 30, "rooms": 6})
    artifacts = level.artifacts()
    result = publish("01JOB", level.summary, artifacts, None, 65536)

    encoded = encode_result(result)

    assert json.loads(encoded) == decoded(result)
    assert isinstance(result["sceneGraph"], RawJson)
    assert artifacts["scene-graph.json"] in encoded
    assert artifacts["tiled.json"] in encoded
    assert decoded(result)["sceneGraph"] == json.loads(artifacts["scene-graph.json"])
    assert decoded(result)["asciiMinimap"] == level.minimap

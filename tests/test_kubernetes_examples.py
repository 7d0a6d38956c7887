"""docs/kubernetes's manifests are examples that were not run here (no cluster); what can be checked without one
is checked: they parse, every name they refer to is theirs, each says it was not run, their commands consume
every queue Bellman has, scale Deployments on the queues those Deployments consume, and set only Bellman's
own settings."""
import re
import shlex
from pathlib import Path

import pytest
import yaml

from server import metrics

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "docs" / "kubernetes"
FILES = sorted(FOLDER.glob("*.yaml"))


class StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; Kubernetes refuses them (and a missing ``---`` makes two objects
    one, with equal keys)."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        duplicates = {key for key in keys if keys.count(key) > 1}
        if duplicates:
            raise yaml.constructor.ConstructorError(None, None, f"keys given twice: {sorted(duplicates)}",
                                                    node.start_mark)
        return super().construct_mapping(node, deep=deep)


DOCUMENTS = [(path.name, doc) for path in FILES for doc in yaml.load_all(path.read_text(), StrictLoader) if doc]
DEPLOYMENTS = {doc["metadata"]["name"]: doc for _, doc in DOCUMENTS if doc["kind"] == "Deployment"}
SETTINGS = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
FROM_KUBERNETES = {"NODE_NAME", "POD_NAME"}  # the downward API's, for Celery's --hostname


def containers(deployment):
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def queues(deployment) -> set[str]:
    """The Celery queues a Deployment's workers consume."""
    found = set()
    for container in containers(deployment):
        command = container["command"]
        if "--queues" in command:
            found |= set(command[command.index("--queues") + 1].split(","))
    return found


def test_there_are_manifests():
    assert {path.name for path in FILES} == {"bellman.yaml", "keda.yaml", "hpa-prometheus.yaml"}


def test_the_migrations_run_once_in_a_job_of_their_own():
    (job,) = [doc for _, doc in DOCUMENTS if doc["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert not any("migrate" in " ".join(c["command"]) for d in DEPLOYMENTS.values() for c in containers(d))


def test_a_missing_document_separator_is_caught():
    """Two objects run together are refused, so that the tests above see every object."""
    with pytest.raises(yaml.constructor.ConstructorError):
        list(yaml.load_all("kind: Job\nmetadata: {name: a}\nkind: Deployment\nmetadata: {name: b}\n", StrictLoader))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_file_says_it_was_not_run(path):
    assert "NOT RUN HERE" in "".join(path.read_text().splitlines(keepends=True)[:2])


@pytest.mark.parametrize("name,doc", DOCUMENTS, ids=[f"{n}:{d['kind']}/{d['metadata']['name']}" for n, d in DOCUMENTS])
def test_each_document_is_a_named_object(name, doc):
    assert {"apiVersion", "kind", "metadata"} <= doc.keys()
    assert doc["metadata"]["name"].startswith("bellman-")


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_a_deployment_selects_its_own_pods(name):
    deployment = DEPLOYMENTS[name]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_every_queue_has_a_consumer():
    assert set().union(*(queues(d) for d in DEPLOYMENTS.values())) == set(metrics.QUEUES)


def test_there_is_exactly_one_beat_never_two_in_a_rollout():
    beats = [d for d in DEPLOYMENTS.values() if any(c["command"][3:4] == ["beat"] for c in containers(d))]
    assert len(beats) == 1
    assert beats[0]["spec"]["replicas"] == 1
    assert beats[0]["spec"]["strategy"] == {"type": "Recreate"}


def test_the_web_service_selects_the_web_pods():
    service = next(doc for _, doc in DOCUMENTS if doc["kind"] == "Service")
    pods = DEPLOYMENTS[service["metadata"]["name"]]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pods.items()


@pytest.mark.parametrize("name,doc", [(n, d) for n, d in DOCUMENTS if d["kind"] == "ScaledObject"],
                         ids=lambda v: v if isinstance(v, str) else v["metadata"]["name"])
def test_keda_scales_a_deployment_on_a_queue_it_consumes(name, doc):
    target = DEPLOYMENTS[doc["spec"]["scaleTargetRef"]["name"]]
    for trigger in doc["spec"]["triggers"]:
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["listName"] in queues(target)


def test_the_hpa_scales_the_trainers_on_bellman_s_own_metric():
    hpa = next(doc for _, doc in DOCUMENTS if doc["kind"] == "HorizontalPodAutoscaler")
    target = DEPLOYMENTS[hpa["spec"]["scaleTargetRef"]["name"]]
    metric = hpa["spec"]["metrics"][0]["external"]["metric"]
    assert metric["name"] == "bellman_queue_length"  # server/scrape.py's
    assert metric["selector"]["matchLabels"]["queue"] in queues(target)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_a_container_sets_only_bellman_s_settings_and_defines_what_its_command_uses(name):
    for container in containers(DEPLOYMENTS[name]):
        env = {item["name"] for item in container.get("env", [])}
        assert env - FROM_KUBERNETES <= SETTINGS
        assert set(re.findall(r"\$\((\w+)\)", " ".join(container["command"]))) <= env


def test_the_celery_commands_are_those_of_docker_compose():
    """The same processes as the compose deployment, but for --hostname (the pod's and node's names)."""
    def without_hostname(args):
        return [a for i, a in enumerate(args) if a != "--hostname" and (i == 0 or args[i - 1] != "--hostname")]

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    theirs = {tuple(without_hostname(shlex.split(s["command"]))) for s in compose.values()
              if s.get("command", "").startswith("celery") and "flower" not in s["command"]}
    ours = {tuple(without_hostname(c["command"])) for d in DEPLOYMENTS.values() for c in containers(d)
            if c["command"][0] == "celery"}
    assert {c for c in ours if "beat" not in c} == {c for c in theirs if "beat" not in c}

"""The example alert rules (deploy/prometheus/itsm-rules.yml) name only metrics /metrics exports, so renaming
a gauge cannot silently disarm an alert; promtool, where installed, checks their syntax and runs their unit
tests (itsm-rules.test.yml)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

RULES_DIR = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
RULES = RULES_DIR / "itsm-rules.yml"
TOKEN = "metrics-token-0123456789abcdef"
# Series that come from Prometheus itself and from the blackbox exporter probing /healthz.
EXTERNAL = {"up", "probe_success"}
OUR_METRIC = re.compile(r"\b((?:itsm|django)_[a-zA-Z0-9_]+)")


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


@pytest.mark.django_db
def test_every_rule_names_only_metrics_we_export(client, settings):
    settings.METRICS_TOKEN = TOKEN
    client.get("/healthz")  # so the request metrics have samples
    page = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    exported = {sample.name for family in text_string_to_metric_families(page) for sample in family.samples}
    for rule in rules():
        named = set(OUR_METRIC.findall(rule["expr"]))
        assert named or EXTERNAL & set(re.findall(r"\b\w+\b", rule["expr"])), rule["alert"]
        assert named <= exported, (rule["alert"], named - exported)


def test_every_rule_has_a_severity_and_a_summary():
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


PROMTOOL = shutil.which("promtool")


@pytest.mark.parametrize(
    "check", [["check", "rules", "itsm-rules.yml"], ["test", "rules", "itsm-rules.test.yml"]]
)
def test_promtool_accepts_the_rules_and_their_unit_tests(check):
    if PROMTOOL is None:
        reason = "needs promtool (Debian: apt-get install prometheus; .ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the rule tests must run)", pytrace=False)
        pytest.skip(reason)
    result = subprocess.run([PROMTOOL, *check], cwd=RULES_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr

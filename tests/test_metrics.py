"""The metrics the bot declares, and the Grafana dashboard it ships (monitoring/)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[1] / "monitoring" / "grafana-dashboard.json"


async def exposed(metrics: Metrics) -> dict[str, set[frozenset[str]]]:
    """Sample name -> the sets of label names its samples carry, as a scraper parses them."""
    found: dict[str, set[frozenset[str]]] = {}
    text = (await metrics.exposition()).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, set()).add(frozenset(sample.labels))
    return found


async def test_the_labels_are_the_ones_the_issue_names_and_nothing_personal() -> None:
    metrics = Metrics()
    metrics.change_ended("green", "set_group_picture", "done")
    with metrics.provider_call("green", "set_group_picture"):
        pass
    samples = await exposed(metrics)
    assert samples["avatarops_changes_total"] == {frozenset({"provider", "action", "outcome"})}
    assert samples["avatarops_provider_call_seconds_count"] == {frozenset({"provider", "method"})}
    assert samples["avatarops_provider_call_seconds_bucket"] == {
        frozenset({"provider", "method", "le"})
    }


async def test_the_dashboard_uses_only_metrics_the_bot_exposes() -> None:
    metrics = Metrics()
    metrics.change_ended("green", "set_group_picture", "done")
    with metrics.provider_call("green", "set_group_picture"):
        pass
    metrics.changes_waiting.labels(provider="green").set(0)
    metrics.notices.labels(outcome="sent").inc()
    metrics.outside_changes.labels(provider="green").inc()
    names = set(await exposed(metrics))
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [variable.get("query", "") for variable in dashboard["templating"]["list"]]
    used = {name for query in queries for name in re.findall(r"\bavatarops_\w+", query)}
    assert used, "the dashboard queries no metric"
    assert used <= names, used - names
    panels = {panel["title"] for panel in dashboard["panels"]}
    assert len(panels) == len(dashboard["panels"])  # no panel twice

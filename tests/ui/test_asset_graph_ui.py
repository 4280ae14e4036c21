"""The Dagster UI serves the lakehouse: every layer in the asset graph, columns and checks on an asset page."""

from __future__ import annotations

import re
import time
import urllib.parse
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from lakehouse.settings import NAMESPACES

pytestmark = pytest.mark.slow

REQUIRED_LAYERS = ("raw", "staging", "analytics")
ASSET = "staging/users"  # declares a column schema and a blocking pandera check
ASSET_NODES = "{ assetNodes { assetKey { path } groupName } }"


@pytest.fixture(scope="module")
def _definitions_import() -> Future[Any]:
    """Import the definitions (about a minute when cold) while dagster dev starts."""
    import importlib

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(importlib.import_module, "lakehouse.definitions")
        yield future


@pytest.fixture(scope="module")
def definitions(_definitions_import: Future[Any], webserver: Any) -> Any:
    """The asset graph of ``lakehouse.definitions.defs``, as the code defines it right now."""
    return _definitions_import.result(timeout=300).defs.resolve_asset_graph()


def _groups(asset_graph: Any) -> dict[str, str]:
    return {
        key.to_user_string(): asset_graph.get(key).group_name
        for key in asset_graph.get_all_asset_keys()
    }


def _layer_groups(asset_graph: Any) -> dict[str, Counter[str]]:
    """Per layer (first key part), how many assets each of its groups holds."""
    layers: dict[str, Counter[str]] = {}
    for key, group in _groups(asset_graph).items():
        layer = key.split("/", 1)[0]
        if layer in NAMESPACES:
            layers.setdefault(layer, Counter())[group] += 1
    return layers


def test_graphql_serves_every_asset_of_the_definitions(webserver, definitions) -> None:
    nodes = webserver.graphql(ASSET_NODES)["assetNodes"]
    served = {"/".join(node["assetKey"]["path"]): node["groupName"] for node in nodes}
    assert served == _groups(definitions)


# The graph's named nodes (assets, group headers) that do not show whole: the middle of their
# top or bottom edge off the page, or under something that is not the graph (the toolbar, the
# zoom buttons); the graph's own edges and boxes may cross them.
_HIDDEN_NODES = """nodes => {
  const graph = nodes[0].ownerSVGElement;
  const shows = (node, x, y) => {
    for (const el of document.elementsFromPoint(x, y)) {
      if (node.contains(el)) return true;
      if (!graph.contains(el)) return false;
    }
    return false;
  };
  return nodes.filter(node => node.textContent).filter(node => {
    const box = node.getBoundingClientRect();
    const middle = (box.left + box.right) / 2;
    return !shows(node, middle, box.top + 3) || !shows(node, middle, box.bottom - 3);
  }).map(node => node.textContent.slice(0, 40));
}"""


def _outside_the_page(page: Any) -> list[str]:
    """The graph's nodes not wholly shown in the page (see ``_HIDDEN_NODES``)."""
    hidden: list[str] = page.locator("foreignObject").evaluate_all(_HIDDEN_NODES)
    return hidden


def test_asset_graph_shows_every_layer(page, webserver, definitions, screenshot) -> None:
    layers = _layer_groups(definitions)
    assert set(REQUIRED_LAYERS) <= set(layers), f"layers in the definitions: {sorted(layers)}"
    sizes = sum(layers.values(), Counter())
    selection = " or ".join(f"group:{group}" for group in sorted(sizes))  # one layout each run
    page.goto(f"{webserver.url}/asset-groups~{urllib.parse.quote(selection)}")

    # Collapsed, each group is one node: its name, then "N assets" or, once the statuses are in,
    # its assets counted by status (materialised, missing, ...): either way they add up to the
    # group's size. The graph lays out more than once while it loads (a CI run read one node
    # between two layouts), so read until they settle on the expected sizes or time runs out.
    nodes = page.locator("foreignObject")
    nodes.nth(len(sizes) - 1).wait_for()
    expected: dict[str, int] = dict(sizes)
    shown: dict[str, int] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        texts = [nodes.nth(i).locator("div").first.inner_text() for i in range(nodes.count())]
        shown = {
            name: sum(int(n) for n in re.findall(r"\d+", rest))
            for name, _, rest in (text.strip().partition("\n") for text in texts)
        }
        if shown == expected:
            break
        page.wait_for_timeout(500)
    assert shown == expected
    for group in sizes:
        assert page.get_by_text(group, exact=True).count() >= 2, group  # sidebar and graph node
    page.get_by_text("fetching statuses").first.wait_for(state="detached")
    screenshot(page, "asset-groups")

    # Expanded (the graph's ⌥E, "Expand all groups", kept in the browser's storage), then
    # reloaded to lay the expanded groups out afresh: the README's picture
    # (UI_SCREENSHOTS=docs/screenshots). Every asset's node shows its name (long names are
    # elided in the middle: their first letters).
    page.keyboard.press("Alt+e")
    page.get_by_text("fct_purchases", exact=True).first.wait_for()
    # More width for the graph: the navigation collapsed (kept in the browser's storage), so
    # the reload lays the graph out to fit the page.
    page.get_by_role("button", name="Hide navigation").click()
    page.reload()
    for key, group in _groups(definitions).items():
        if group in sizes:
            prefix = key.rsplit("/", 1)[-1][:10]
            page.get_by_text(re.compile(f"^{re.escape(prefix)}")).first.wait_for()
    page.get_by_text("fetching statuses").first.wait_for(state="detached")
    page.wait_for_timeout(1_000)  # the layout's last animation
    for _ in range(4):  # zoomed out until every group lies within the page
        if not (outside := _outside_the_page(page)):
            break
        page.locator("button:has([aria-label='zoom_out'])").click()
        page.wait_for_timeout(500)
    assert not outside, f"cut off in the picture: {outside}"
    screenshot(page, "asset-graph")


def test_asset_page_shows_columns_checks_and_the_row_count_plot(
    page, webserver, definitions, asset_history, screenshot
) -> None:
    """The README's second picture: staging/users with its columns, its check's result and the
    row counts of its materialisations (HISTORY_SIZES, made before the webserver started)."""
    import dagster as dg

    from tests.ui.conftest import HISTORY_SIZES

    key = dg.AssetKey.from_user_string(ASSET)
    schema = definitions.get(key).metadata["dagster/column_schema"]
    checks = [check.name for check in definitions.asset_check_keys if check.asset_key == key]
    assert schema.columns and checks
    assert asset_history == list(reversed(HISTORY_SIZES))  # newest first

    page.set_viewport_size({"width": 1600, "height": 1900})
    page.goto(f"{webserver.url}/assets/{ASSET}")
    page.get_by_text("Columns", exact=True).wait_for()
    for column in schema.columns:
        assert page.get_by_text(column.name, exact=True).first.is_visible(), column.name
    assert page.get_by_text("Latest check results", exact=True).is_visible()
    page.get_by_role("button", name="Plots").click()
    plot = page.locator("canvas").first
    plot.wait_for()
    plot.scroll_into_view_if_needed()
    assert page.get_by_text("dagster/row_count", exact=True).first.is_visible()
    page.wait_for_timeout(1_000)  # the chart's drawing animation
    screenshot(page, "asset-page")
    page.set_viewport_size({"width": 1600, "height": 1000})

    page.goto(f"{webserver.url}/assets/{ASSET}?view=checks")
    page.get_by_text(f"Checks ({len(checks)})").wait_for()
    for check in checks:
        assert page.get_by_text(check, exact=True).first.is_visible(), check
    screenshot(page, "asset-checks")


UPKEEP_JOB = "upkeep_table_health"
RUNS = '{ runsOrError(filter: {pipelineName: "%s"}) { ... on Runs { results { runId status } } } }'


def test_every_upkeep_job_runs_from_the_ui(page, webserver, screenshot) -> None:
    """Each job page's Materialize button launches its run, as an operator would (on an empty
    warehouse, so each is quick; their effects are tested in tests/upkeep). Backup runs before
    the restore check, as scheduled."""
    from lakehouse.upkeep.jobs import UPKEEP_JOBS

    runs: list[dict] = []
    for name in (job.name for job in UPKEEP_JOBS):
        assert not webserver.graphql(RUNS % name)["runsOrError"]["results"], name
        page.goto(f"{webserver.url}/locations/lakehouse/jobs/{name}")
        page.locator("button", has_text=re.compile(r"^\s*Materialize\s*$")).first.click()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            runs = webserver.graphql(RUNS % name)["runsOrError"]["results"]
            if runs and runs[0]["status"] in {"SUCCESS", "FAILURE", "CANCELED"}:
                break
            time.sleep(2)
        assert [run["status"] for run in runs] == ["SUCCESS"], (name, webserver.log_tail())
    page.goto(f"{webserver.url}/runs/{runs[0]['runId']}")
    page.get_by_text("RUN_SUCCESS").first.wait_for()
    screenshot(page, "upkeep-run")


RESOURCES = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
    allTopLevelResourceDetails { name configuredValues { key value type } } } } } }"""
LATEST_RUN = "{ runsOrError(limit: 1) { ... on Runs { results { runId } } } }"


def test_planted_credentials_appear_on_no_page(
    page, webserver, planted_secrets, screenshot
) -> None:
    """The fake credentials in the webserver's settings are in no page Chromium renders and in
    no answer the UI fetched: resources (their configured values), assets, jobs, runs."""
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    resources = webserver.graphql(RESOURCES)["repositoriesOrError"]["nodes"][0]
    names = [resource["name"] for resource in resources["allTopLevelResourceDetails"]]
    assert {"io_manager", "upkeep", "dbt"} <= set(names), names
    runs = webserver.graphql(LATEST_RUN)["runsOrError"]["results"]
    paths = [
        "/asset-groups",
        f"/assets/{ASSET}",
        f"/locations/lakehouse/jobs/{UPKEEP_JOB}",
        "/locations/lakehouse/resources",
        *(f"/locations/lakehouse/resources/{name}" for name in names),
        "/runs",
        *(f"/runs/{run['runId']}" for run in runs),
    ]
    rendered, answers = [str(resources)], []
    for path in paths:
        page.goto(f"{webserver.url}{path}")
        page.wait_for_load_state("networkidle")
        rendered.append(page.content())
        answers += [_body(response) for response in responses]  # read before the next page
        responses.clear()
    page.goto(f"{webserver.url}/locations/lakehouse/resources/upkeep")
    page.get_by_text("upkeep", exact=True).first.wait_for()  # the resource page did render
    screenshot(page, "resource-page")

    texts = rendered + answers
    leaks = {name for name, value in planted_secrets.items() for text in texts if value in text}
    assert not leaks, f"planted credentials shown by the UI: {sorted(leaks)}"
    assert any("configuredValues" in answer for answer in answers)  # the UI asked for them


def _body(response: Any) -> str:
    try:
        return response.text()
    except Exception:  # a redirect, or a body the browser no longer holds
        return ""

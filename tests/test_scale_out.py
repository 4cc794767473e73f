"""Two web servers on one PostgreSQL and one Redis, as two hosts would run: a catalog write through either is on
the other's next pages within a second, though each keeps its own copy of the catalog."""

import time

import pytest
import requests

from bench.common import bench_env, bench_server, gunicorn_serving

WITHIN_S = 1.0


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("scale-out")
    with bench_server(workers=2, data_dir=data_dir) as first:
        with gunicorn_serving(env=bench_env(data_dir), log_path=data_dir / "second.log", workers=2) as (_, second_url):
            headers = {"Authorization": f"Token {first.api_key}"}
            yield first.url, second_url, headers


def _post_item(url: str, headers: dict, **item) -> None:
    response = requests.post(f"{url}/api/v1/items", json=[item], headers=headers, timeout=30)
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.content


def _similar(url: str, headers: dict, item_id: str) -> list[str]:
    # Composed on every request from the server's copy of the catalog (here, with no vectors: the item's category,
    # newest first); cached homepages take in new items as they expire, out-of-stock ones at once.
    response = requests.get(f"{url}/api/v1/items/{item_id}/similar", headers=headers, timeout=30)
    assert response.status_code == 200, response.content
    return [entry["item_id"] for entry in response.json()["items"]]


def _seconds_until(condition) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > 10 * WITHIN_S:
            break
        time.sleep(0.02)
    return time.perf_counter() - started


def test_an_item_written_through_one_server_is_in_the_other_s_answers_within_a_second(servers):
    first, second, headers = servers
    for item_id in ("old", "older"):
        _post_item(first, headers, item_id=item_id, title=f"An {item_id} lipstick", category="Makeup > Lips")
    for _ in range(8):  # every worker of both servers holds the catalog before the write
        assert _similar(first, headers, "old") == ["older"] and _similar(second, headers, "old") == ["older"]

    _post_item(first, headers, item_id="just-in", title="A new lipstick", category="Makeup > Lips")
    assert _seconds_until(lambda: all(_similar(second, headers, "old")[0] == "just-in" for _ in range(4))) < WITHIN_S

    _post_item(second, headers, item_id="just-in", title="A new lipstick", category="Makeup > Lips", available=False)
    assert _seconds_until(lambda: all(_similar(first, headers, "old") == ["older"] for _ in range(4))) < WITHIN_S

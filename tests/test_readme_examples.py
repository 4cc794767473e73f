"""The README's curl examples, run in order against a fresh shop with a real key: each answer has the shape
the `# {...}` comment under its command documents, so the storefront docs cannot drift from the API.

A documented shape reads as JSON where "…" is any value and a trailing `, …` in a list stands for more
entries, not described; every other key and value must be what the API answers."""

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from catalog.services import api_key_create
from merchandising.services import default_rails_ensure
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

README = Path(settings.BASE_DIR) / "README.md"
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
ANY, MORE = "…", "$more"


@pytest.fixture(scope="module")
def examples() -> list[tuple[list[str], object]]:
    """Each API curl command of the README as its words, with the shape documented under it (None if none)."""
    found = []
    for block in SH_BLOCK.findall(README.read_text()):
        if not block.lstrip().startswith("curl "):
            continue
        command, shape = [], []
        for line in block.splitlines():
            (shape if line.startswith("#") else command).append(line.lstrip("#"))
        words = shlex.split("\n".join(command).replace("\\\n", " "))
        documented = re.sub(r",\s*…\s*(?=[\]}])", f', "{MORE}"', " ".join(shape))
        found.append((words, json.loads(documented) if documented.strip() else None))
    return found


def _request(words: list[str]) -> tuple[str, str, dict[str, str], str | None]:
    """The method, path (with its query), headers and body a curl command sends."""
    method, url, headers, body = "GET", "", {}, None
    arguments = iter(words[1:])
    for word in arguments:
        if word == "-X":
            method = next(arguments)
        elif word == "-H":
            name, value = next(arguments).split(":", 1)
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body, method = next(arguments), method if method != "GET" else "POST"
        else:
            url = word
    parts = urlsplit(url)
    return method, parts.path + (f"?{parts.query}" if parts.query else ""), headers, body


def shape_mismatch(documented, answered, where: str = "answer") -> str | None:
    """Where the answer differs from its documented shape, or None when it has it."""
    if documented == ANY:
        return None
    if isinstance(documented, dict):
        if not isinstance(answered, dict) or set(documented) != set(answered):
            keys = sorted(answered) if isinstance(answered, dict) else answered
            return f"{where}: documented keys {sorted(documented)}, answered {keys}"
        return next(filter(None, (shape_mismatch(documented[key], answered[key], f"{where}.{key}") for key in documented)), None)
    if isinstance(documented, list):
        described = [entry for entry in documented if entry != MORE]
        more = len(described) < len(documented)
        if not isinstance(answered, list) or len(answered) < len(described) or (not more and len(answered) != len(described)):
            return f"{where}: documented {documented}, answered {answered}"
        mismatches = (shape_mismatch(entry, answered[index], f"{where}[{index}]") for index, entry in enumerate(described))
        return next(filter(None, mismatches), None)
    return None if documented == answered and type(documented) is type(answered) else f"{where}: documented {documented!r}, answered {answered!r}"


def test_the_shape_check_tells_a_drifted_answer_from_a_documented_one():
    documented = {"rails": [{"key": "for-you", "items": [ANY, MORE]}, MORE], "count": 1}
    assert shape_mismatch(documented, {"rails": [{"key": "for-you", "items": [1, 2]}, {}], "count": 1}) is None
    assert shape_mismatch(documented, {"rails": [{"key": "for_you", "items": [1]}], "count": 1}) == (
        "answer.rails[0].key: documented 'for-you', answered 'for_you'"
    )
    assert "documented keys" in shape_mismatch(documented, {"rails": [], "count": 1, "extra": 2})
    assert shape_mismatch({"rejected": []}, {"rejected": [{"index": 0}]}) is not None
    assert shape_mismatch({"count": 1}, {"count": True}) is not None


def test_every_curl_example_of_the_readme_answers_as_documented(shop_a, examples):
    # A shop with a catalog beyond the examples' one item, and its rails: the events example's rail is held to them.
    ItemFactory.create_batch(10, shop=shop_a)
    default_rails_ensure(shop=shop_a)
    _, key = api_key_create(shop=shop_a, name="readme")
    client = APIClient()
    assert len(examples) >= 5 and sum(shape is not None for _, shape in examples) >= 4
    for words, shape in examples:
        method, path, headers, body = _request(words)
        assert headers.pop("Authorization") == "Token $KEY"
        response = client.generic(
            method, path, body or "", content_type=headers.pop("Content-Type", "application/json"),
            HTTP_AUTHORIZATION=f"Token {key}",
        )
        assert not headers, f"{path}: headers the test does not send: {headers}"
        assert 200 <= response.status_code < 300, f"{method} {path}: {response.status_code} {response.content[:500]!r}"
        if shape is not None:
            mismatch = shape_mismatch(shape, response.json())
            assert mismatch is None, f"{method} {path}: {mismatch}"

"""What gunicorn answers itself, before any view runs, through the worker gunicorn.conf.py names."""

import json
import re
import runpy
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def app(environ, start_response):
    """A WSGI app for the worker to serve: what it answers itself needs no Django."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
    return [b"served"]


def _listening_port(process: subprocess.Popen, *, timeout_s: float = 20) -> int:
    deadline = time.monotonic() + timeout_s
    log = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 0.2)
        line = process.stderr.readline() if ready else ""
        log += line
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            break
    raise AssertionError(f"gunicorn did not start:\n{log}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    worker_class = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["worker_class"]
    empty_conf = tmp_path_factory.mktemp("gunicorn") / "gunicorn.conf.py"  # not the project's: no warm-up
    empty_conf.write_text("")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(empty_conf), "--worker-class", worker_class, "--workers", "1",
         "--bind", "127.0.0.1:0", "tests.config.test_gunicorn_errors:app"],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    try:
        yield ("127.0.0.1", _listening_port(process))
    finally:
        process.terminate()
        process.wait(timeout=10)


def ask(server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(server, timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split(" ")[1]), headers, body


def error_of(server, request: bytes, status: int) -> dict:
    answered, headers, body = ask(server, request)
    assert answered == status
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    return json.loads(body)["error"]


def test_an_ordinary_request_is_served(server):
    assert ask(server, b"GET /api/v1/homepage/s1 HTTP/1.1\r\nHost: x\r\n\r\n")[::2] == (200, b"served")


def test_a_request_line_too_long_is_a_json_414(server):
    request = b"GET /api/v1/homepage/s1?exclude=" + b"sku," * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    error = error_of(server, request, 414)
    assert error["code"] == "request_line_too_long"
    assert "longer than 4094 bytes" in error["message"]


@pytest.mark.parametrize(
    "headers", [b"X-Big: " + b"a" * 9000 + b"\r\n", b"".join(b"X-%d: 1\r\n" % n for n in range(120))]
)
def test_headers_too_large_are_a_json_431(server, headers):
    error = error_of(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n", 431)
    assert error["code"] == "headers_too_large"
    assert error["message"] == "The request headers are too large: at most 100 fields of 8190 bytes each."


def test_malformed_http_is_a_json_400(server):
    error = error_of(server, b"NOT HTTP AT ALL\r\n\r\n", 400)
    assert error["code"] == "bad_request"
    assert error["details"]["reason"]

"""gunicorn's sync worker, answering the requests gunicorn refuses itself (a request line or headers too
large, malformed HTTP) in the API's one error shape, {"error": {"code", "message", "details"}}, not in HTML.

gunicorn keeps deciding the status, and logging and counting the error: its answer is written to a stand-in
for the client socket, and only its status line is kept. The body is built here rather than with
config.api_errors.error_body: the arbiter loads this class before Django is set up.
"""

import json

from gunicorn import util
from gunicorn.workers.sync import SyncWorker

# Status: (code, message); a message may name the server's limits (gunicorn's settings).
ANSWERS = {
    400: ("bad_request", "The request is not valid HTTP."),
    403: ("forbidden", "The request is forbidden."),
    414: ("request_line_too_long", "The request line (method, path and query) is longer than {limit_request_line} bytes; "
          "send shorter lists (exclude=, rails=)."),
    417: ("expectation_failed", "The server cannot meet the request's Expect header."),
    431: ("headers_too_large", "The request headers are too large: at most {limit_request_fields} fields of "
          "{limit_request_field_size} bytes each."),
    501: ("not_implemented", "The request uses a transfer coding the server does not support."),
}
SERVER_ERROR = ("server_error", "Vitrine could not process this request; it has been logged.")


class _AnswerCapture:
    """Takes the client socket's place while gunicorn writes its own answer (util.write_error)."""

    def __init__(self):
        self.written = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.written += data

    def status(self) -> tuple[int, str]:
        _, status, reason = self.written.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        return int(status), reason


class JsonErrorWorker(SyncWorker):
    def handle_error(self, req, client, addr, exc):
        capture = _AnswerCapture()
        super().handle_error(req, capture, addr, exc)
        try:
            status, reason = capture.status()
        except ValueError:
            status, reason = 500, "Internal Server Error"
        code, message = ANSWERS.get(status, SERVER_ERROR)
        error = {"code": code, "message": message.format(**self._limits())}
        if status in ANSWERS:
            error["details"] = {"reason": str(exc)}
        body = json.dumps({"error": error}).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("Failed to send error message.")

    def _limits(self) -> dict[str, int]:
        return {
            "limit_request_line": self.cfg.limit_request_line,
            "limit_request_fields": self.cfg.limit_request_fields,
            "limit_request_field_size": self.cfg.limit_request_field_size,
        }

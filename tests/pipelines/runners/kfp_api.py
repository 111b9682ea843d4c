"""A local HTTP server answering the KFP 2.x v2beta1 REST calls a submit makes, recording them.

It is the only stand-in for a Kubeflow Pipelines cluster that runs here. It answers the
four calls kfp 2.5's `create_run_from_pipeline_package` makes with bodies shaped like the
KFP API server's (grpc-gateway JSON, snake_case, empty lists omitted), records every request
(method, path, query, JSON body, headers) and can instead answer every request with a
fixed error status. It listens on 127.0.0.1 only and stops when the `with` block ends.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
import urllib.parse

API = "/apis/v2beta1"
EXPERIMENT_ID = "0b5c3e0e-7a1d-4a4e-9d4e-1f1f5c0a0001"
RUN_ID = "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d0002"


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict
    body: dict | None
    headers: dict


class KfpApiServer:
    """`with KfpApiServer() as api:` -> `api.url`, `api.requests`."""

    def __init__(
        self,
        *,
        experiment_exists: bool = False,
        error_status: int | None = None,
        multi_user: bool = False,
    ):
        self.requests: list[Request] = []
        self.multi_user = multi_user
        self.experiment_exists = experiment_exists
        self.error_status = error_status
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        if self.error_status:
            return self.error_status, {"error": "stand-in refusal", "code": 7, "message": "no"}
        experiment = {
            "experiment_id": EXPERIMENT_ID,
            "display_name": "bertpipe",
            "created_at": "2026-01-01T00:00:00Z",
            "storage_state": "AVAILABLE",
        }
        if (method, path) == ("GET", f"{API}/healthz"):
            return 200, {
                "commit_sha": "stand-in",
                "tag_name": "2.3.0",
                "multi_user": self.multi_user,
            }
        if (method, path) == ("GET", f"{API}/experiments"):
            return 200, (
                {"experiments": [experiment], "total_size": 1} if self.experiment_exists else {}
            )
        if (method, path) == ("POST", f"{API}/experiments"):
            return 200, {**experiment, "display_name": body["display_name"]}
        if (method, path) == ("POST", f"{API}/runs"):
            return 200, {
                "run_id": RUN_ID,
                "experiment_id": body["experiment_id"],
                "display_name": body["display_name"],
                "storage_state": "AVAILABLE",
                "state": "PENDING",
                "created_at": "2026-01-01T00:00:01Z",
            }
        return 404, {"error": "Not Found", "code": 5, "message": "Not Found"}

    def _handler(self):
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self):
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                api.requests.append(
                    Request(
                        self.command,
                        url.path,
                        dict(urllib.parse.parse_qsl(url.query)),
                        body,
                        {k.lower(): v for k, v in self.headers.items()},
                    )
                )
                status, answer = api.answer(self.command, url.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, *args):  # Keep test output clean.
                pass

        return Handler

"""Local HTTP servers that answer the REST calls a submit makes, recording every request.

They are the only stand-ins for a Kubeflow Pipelines cluster or Vertex AI that run here.
`KfpApiServer` answers the calls kfp 2.5's `create_run_from_pipeline_package` makes with
bodies shaped like the KFP API server's (grpc-gateway JSON, snake_case, empty lists
omitted); `VertexApiServer` answers aiplatform's REST `pipelineJobs.create` and what it does
first in Cloud Storage (reached through `STORAGE_EMULATOR_HOST`): the pipeline root's
bucket is missing, so it is created and the run's service account gets object access on
it (a missing bucket keeps aiplatform from asking Resource Manager, which has no local
stand-in, for the project number). It also answers as the GCE/GKE metadata server
(reached through `GCE_METADATA_HOST`), which is how a step or a workstation on GKE with
Workload Identity gets Application Default Credentials: a project id and an access token
for the service account. Each records method, path, query, body (JSON, or the raw text)
and headers, can answer its main calls with a fixed error status instead, listens on
127.0.0.1 only and stops when the `with` block ends.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
import urllib.parse
from collections.abc import Callable

API = "/apis/v2beta1"
EXPERIMENT_ID = "0b5c3e0e-7a1d-4a4e-9d4e-1f1f5c0a0001"
RUN_ID = "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d0002"
VERTEX_PROJECT_NUMBER = "123456789012"
METADATA = "/computeMetadata/v1/"
METADATA_PROJECT = "my-project"
METADATA_ACCOUNT = "bertpipe-runner@my-project.iam.gserviceaccount.com"
_NOT_FOUND = (404, {"error": "Not Found", "code": 5, "message": "Not Found"})


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict
    body: dict | None
    headers: dict


class RecordingServer:
    """`with server:` serves `answer(method, path, body) -> (status, json)` at `url`."""

    def __init__(self, answer: Callable[[str, str, dict | None], tuple[int, dict]]):
        self.requests: list[Request] = []
        self._answer = answer
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self):
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                is_json = "json" in self.headers.get("Content-Type", "json")
                body = (json.loads(raw) if is_json else raw.decode()) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                query = dict(urllib.parse.parse_qsl(url.query))
                server.requests.append(Request(self.command, url.path, query, body, headers))
                status, answer = server._answer(self.command, url.path, body)
                text = isinstance(answer, str)
                data = (answer if text else json.dumps(answer)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if text else "application/json")
                # What the GCE metadata server sends; google-auth checks it, others ignore it.
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args):  # Keep test output clean.
                pass

        return Handler


class KfpApiServer(RecordingServer):
    """The KFP 2.x v2beta1 calls of a run submission."""

    def __init__(self, *, experiment_exists=False, error_status=None, multi_user=False):
        self.experiment_exists, self.error_status = experiment_exists, error_status
        self.multi_user = multi_user
        super().__init__(self._kfp_answer)

    def _kfp_answer(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
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
        return _NOT_FOUND


class VertexApiServer(RecordingServer):
    """Vertex AI v1 `pipelineJobs.create` (REST) and the pipeline root's bucket set-up."""

    def __init__(self, *, error_status=None):
        self.error_status = error_status
        super().__init__(self._vertex_answer)

    def _vertex_answer(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        if path == "/" or path.startswith(METADATA):
            return self._metadata_answer(path)
        if path.startswith("/storage/v1/b"):
            return self._storage_answer(method, path, body)
        if method == "POST" and path.endswith("/pipelineJobs"):
            if self.error_status:
                return self.error_status, {
                    "error": {
                        "code": self.error_status,
                        "message": "stand-in refusal",
                        "status": "X",
                    }
                }
            location = path.split("/")[5]
            job_id = self.requests[-1].query.get("pipelineJobId", "stand-in-20260101000000")
            name = f"projects/{VERTEX_PROJECT_NUMBER}/locations/{location}/pipelineJobs/{job_id}"
            return 200, {**body, "name": name, "state": 2}  # PIPELINE_STATE_PENDING
        return _NOT_FOUND

    def _storage_answer(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        if path.endswith("/iam"):  # GET or PUT the bucket's IAM policy.
            return 200, body or {"kind": "storage#policy", "bindings": [], "etag": "CAE="}
        if method == "POST":  # Create the bucket.
            return 200, {**body, "kind": "storage#bucket", "projectNumber": VERTEX_PROJECT_NUMBER}
        return 404, {"error": {"code": 404, "message": "The specified bucket does not exist."}}

    def _metadata_answer(self, path: str) -> tuple[int, dict | str]:
        """The GCE metadata server calls of google-auth's default credentials."""
        if path == "/":  # The probe: any 200 with the Metadata-Flavor header.
            return 200, ""
        if path == f"{METADATA}project/project-id":
            return 200, METADATA_PROJECT
        if path == f"{METADATA}instance/service-accounts/default/":
            return 200, {"email": METADATA_ACCOUNT, "aliases": ["default"], "scopes": []}
        if path == f"{METADATA}instance/service-accounts/default/token":
            return 200, {"access_token": "stand-in", "expires_in": 3600, "token_type": "Bearer"}
        return _NOT_FOUND

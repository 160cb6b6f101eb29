"""A local stand-in for the Hugging Face Hub: a stdlib threaded HTTP server on 127.0.0.1.

It serves real fixture files with Range, and the API routes huggingface_hub 2.x calls
(../shared/reference/hf-hub.md §7): model info (with ?blobs=true sizes), revision info, the
tree, the models list with Link pagination, and /resolve/ with X-Repo-Commit, ETag,
Content-Range + 206 and X-Error-Code on errors. Gated repos answer 403 GatedRepo on /resolve/
unless the request carries the expected token.

Faults are deterministic, so tests never flake: a request (method, path, range) is picked by
a hash with probability `fault_rate` and fails its first `fault_repeats` attempts with one of
`fault_kinds` (429 with Retry-After, 500, dropped connection, short body); `persistent`
path substrings fail every time. `latency` adds a sleep to every request. Every request is
logged (path, range, status, body bytes, whether the expected Authorization came with it).

Run it alone (for the benchmark or by hand): python tests/hubstandin.py --help
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

FAULT_KINDS = ("429", "500", "drop", "short")


@dataclass
class Request:
    method: str
    path: str
    query: str
    range: str | None
    status: int = 0
    bytes: int = 0
    auth: bool = False  # the expected token came with it
    auth_header: bool = False  # any Authorization header came with it
    fault: str | None = None
    time: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class Repo:
    repo_id: str
    sha: str
    files: dict[str, Path | bytes]
    gated: bool = False
    tags: list[str] = field(default_factory=list)

    def size(self, path: str) -> int:
        data = self.files[path]
        return len(data) if isinstance(data, bytes) else data.stat().st_size


class HubStandIn:
    def __init__(self, latency: float = 0.0, token: str | None = None, page_size: int = 1000) -> None:
        self.latency = latency
        self.token = token
        self.page_size = page_size
        self.repos: dict[str, Repo] = {}
        self.fault_rate = 0.0
        self.fault_kinds: tuple[str, ...] = FAULT_KINDS
        self.fault_repeats = 1
        self.retry_after = 0
        self.persistent: dict[str, str] = {}  # path substring -> fault kind, every time
        self.ignore_range = False
        self.log: list[Request] = []
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0  # most requests served at once: proof that a client overlapped them
        self._server: ThreadingHTTPServer | None = None

    # -- setup --------------------------------------------------------------------------------
    def add_repo(self, repo_id: str, files: dict[str, Path | bytes], *, gated: bool = False,
                 sha: str | None = None, tags: list[str] | None = None) -> str:
        sha = sha or hashlib.sha1(repo_id.encode() + repr(sorted(files)).encode()).hexdigest()
        self.repos[repo_id] = Repo(repo_id, sha, dict(files), gated, list(tags or []))
        return sha

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self._attempts.clear()
            self.max_in_flight = 0

    # -- what happened ------------------------------------------------------------------------
    def requests(self, contains: str = "", ranged: bool | None = None) -> list[Request]:
        with self._lock:
            out = [r for r in self.log if contains in r.path]
        if ranged is not None:
            out = [r for r in out if (r.range is not None) == ranged]
        return out

    def _record(self, req: Request) -> None:
        with self._lock:
            self.log.append(req)

    def _fault_for(self, req: Request) -> str | None:
        for needle, kind in self.persistent.items():
            if needle in req.path:
                return kind
        if not self.fault_rate or req.path.startswith("/api/agent-harnesses"):
            return None
        key = f"{req.method} {req.path}?{req.query} {req.range}"
        with self._lock:
            self._attempts[key] = attempt = self._attempts.get(key, 0) + 1
        if zlib.crc32(key.encode()) % 10_000 >= self.fault_rate * 10_000 or attempt > self.fault_repeats:
            return None
        return self.fault_kinds[zlib.crc32(key.encode() + b"#kind") % len(self.fault_kinds)]


class _Handler(BaseHTTPRequestHandler):
    hub: HubStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add
        # 40 ms to every small response, which no real Hub or CDN does.
        import socket

        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_GET(self) -> None:
        self._handle("GET")

    # -- dispatch -----------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        hub = self.hub
        parts = urlsplit(self.path)
        if parts.path.startswith("/_standin/"):  # control routes for a stand-in in another process
            return self._control(parts.path)
        auth = self.headers.get("Authorization")
        req = Request(method, unquote(parts.path), parts.query, self.headers.get("Range"),
                      auth=bool(hub.token) and auth == f"Bearer {hub.token}", auth_header=auth is not None)
        with hub._lock:
            hub.in_flight += 1
            hub.max_in_flight = max(hub.max_in_flight, hub.in_flight)
        if hub.latency:
            time.sleep(hub.latency)
        req.fault = hub._fault_for(req)
        try:
            if req.fault in ("429", "500"):
                status = int(req.fault)
                extra = {"Retry-After": str(hub.retry_after)} if status == 429 else {}
                self._json(req, status, {"error": "injected fault"}, extra)
            elif req.fault == "drop":
                req.status = -1
                self.close_connection = True
            else:
                self._route(req, parts.query)
        finally:
            with hub._lock:
                hub.in_flight -= 1
            hub._record(req)

    def _control(self, path: str) -> None:
        hub = self.hub
        if path == "/_standin/reset":
            hub.reset()
        with hub._lock:
            log = list(hub.log)
        files = [r for r in log if "/resolve/" in r.path]
        stats = {"requests": len(log), "api_requests": len(log) - len(files), "file_requests": len(files),
                 "ranged_requests": sum(1 for r in files if r.range), "bytes": sum(r.bytes for r in log),
                 "file_bytes": sum(r.bytes for r in files), "max_in_flight": hub.max_in_flight,
                 "faults": sum(1 for r in log if r.fault)}
        self._send(Request("GET", path, "", None), 200, json.dumps(stats).encode(), {"Content-Type": "application/json"})

    def _route(self, req: Request, query: str) -> None:
        path = req.path
        q = parse_qs(query)
        if path == "/api/agent-harnesses":
            return self._json(req, 200, {"standardEnvVars": [], "harnesses": {}})
        if path == "/api/models":
            return self._list_models(req, q)
        m = re.match(r"^/api/models/([^/]+/[^/]+)(?:/(revision|tree)/([^/]+)(?:/(.*))?)?$", path)
        if m:
            repo = self._repo(req, m.group(1))
            if repo is None:
                return
            if m.group(2) is not None and m.group(3) not in ("main", repo.sha):
                return self._error(req, 404, "RevisionNotFound", "Invalid rev id")
            if m.group(2) == "tree":
                return self._tree(req, repo, m.group(4) or "", q)
            return self._json(req, 200, self._info(repo, blobs="true" in q.get("blobs", [])))
        m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
        if m:
            return self._resolve(req, m.group(1), m.group(2), m.group(3))
        self._error(req, 404, None, "Not found")

    def _repo(self, req: Request, repo_id: str) -> Repo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(req, 401, "RepoNotFound", "Repository not found")
        return repo

    # -- API ----------------------------------------------------------------------------------
    def _info(self, repo: Repo, blobs: bool) -> dict:
        siblings = []
        for p in sorted(repo.files):
            entry: dict = {"rfilename": p}
            if blobs:
                entry.update(size=repo.size(p), blobId=hashlib.sha1(p.encode()).hexdigest())
            siblings.append(entry)
        return {"_id": repo.repo_id, "id": repo.repo_id, "modelId": repo.repo_id, "sha": repo.sha,
                "private": False, "gated": "manual" if repo.gated else False, "disabled": False,
                "downloads": 0, "likes": 0, "tags": repo.tags, "library_name": "gguf",
                "lastModified": "2025-01-01T00:00:00.000Z", "createdAt": "2025-01-01T00:00:00.000Z",
                "siblings": siblings}

    def _tree(self, req: Request, repo: Repo, folder: str, q: dict) -> None:
        prefix = folder.strip("/") + "/" if folder else ""
        entries = [{"type": "file", "oid": hashlib.sha1(p.encode()).hexdigest(), "size": repo.size(p), "path": p}
                   for p in sorted(repo.files) if p.startswith(prefix)]
        self._paged(req, entries, q)

    def _list_models(self, req: Request, q: dict) -> None:
        author, search = q.get("author", [None])[0], q.get("search", [None])[0]
        filters = q.get("filter", [])
        items = []
        for repo in sorted(self.hub.repos.values(), key=lambda r: r.repo_id):
            if author and not repo.repo_id.startswith(author + "/"):
                continue
            if search and search.lower() not in repo.repo_id.lower():
                continue
            if any(f not in repo.tags and f != "gguf" for f in filters):
                continue
            if "gguf" in filters and not any(p.endswith(".gguf") for p in repo.files):
                continue
            items.append({"_id": repo.repo_id, "id": repo.repo_id, "modelId": repo.repo_id, "sha": repo.sha,
                          "tags": repo.tags, "likes": 0, "downloads": 0, "private": False,
                          "createdAt": "2025-01-01T00:00:00.000Z"})
        limit = int(q.get("limit", [0])[0] or 0)
        self._paged(req, items[:limit] if limit else items, q)

    def _paged(self, req: Request, items: list, q: dict) -> None:
        start = int(q.get("cursor", ["0"])[0])
        page = items[start:start + self.hub.page_size]
        headers = {}
        if start + self.hub.page_size < len(items):
            query = {k: v for k, v in q.items() if k != "cursor"}
            query["cursor"] = [str(start + self.hub.page_size)]
            host = self.headers.get("Host", "127.0.0.1")
            headers["Link"] = f'<http://{host}{req.path}?{urlencode(query, doseq=True)}>; rel="next"'
        self._json(req, 200, page, headers)

    # -- files --------------------------------------------------------------------------------
    def _resolve(self, req: Request, repo_id: str, revision: str, path: str) -> None:
        repo = self._repo(req, repo_id)
        if repo is None:
            return
        if revision not in ("main", repo.sha):
            return self._error(req, 404, "RevisionNotFound", "Invalid rev id")
        if repo.gated and not req.auth:
            return self._error(req, 403, "GatedRepo", "Access to this gated repo is restricted")
        if path not in repo.files:
            return self._error(req, 404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": repo.sha})
        size = repo.size(path)
        start, end = 0, size - 1
        status = 200
        if req.range and not self.hub.ignore_range:
            m = re.match(r"bytes=(\d+)-(\d*)$", req.range)
            if not m or int(m.group(1)) >= size:
                return self._send(req, 416, b"", {"Content-Range": f"bytes */{size}"})
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            status = 206
        headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{hashlib.sha1(path.encode()).hexdigest()}"',
                   "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        data = repo.files[path]
        if req.method == "GET" and isinstance(data, Path) and not req.fault:
            return self._send_file(req, status, data, start, end + 1 - start, headers)
        body = self._slice(data, start, end + 1) if req.method == "GET" else b""
        self._send(req, status, body, headers, length=end + 1 - start)

    def _send_file(self, req: Request, status: int, path: Path, start: int, length: int, headers: dict) -> None:
        """Zero-copy (os.sendfile), so the stand-in's own CPU does not cap a concurrency benchmark."""
        req.status = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        with open(path, "rb") as f:
            sent = 0
            try:
                while sent < length:
                    n = os.sendfile(self.connection.fileno(), f.fileno(), start + sent, length - sent)
                    if n == 0:
                        break
                    sent += n
            except (BrokenPipeError, ConnectionResetError):
                pass
        req.bytes = sent

    @staticmethod
    def _slice(data: Path | bytes, start: int, end: int) -> bytes:
        if isinstance(data, bytes):
            return data[start:end]
        with open(data, "rb") as f:
            return os.pread(f.fileno(), end - start, start)

    # -- responses ----------------------------------------------------------------------------
    def _error(self, req: Request, status: int, code: str | None, message: str, extra: dict | None = None) -> None:
        headers = {"X-Error-Message": message, **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        self._json(req, status, {"error": message}, headers)

    def _json(self, req: Request, status: int, payload: object, headers: dict | None = None) -> None:
        self._send(req, status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _send(self, req: Request, status: int, body: bytes, headers: dict, length: int | None = None) -> None:
        req.status = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if req.fault == "short" and len(body) > 1:
            body = body[: len(body) // 2]  # promise the whole body, send half, hang up
            self.close_connection = True
        if body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                return
        req.bytes = len(body)


def main() -> None:  # pragma: no cover - a manual / benchmark entry point
    import argparse

    parser = argparse.ArgumentParser(description="Serve GGUF files as a fake Hugging Face Hub.")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--manifest", help='JSON {"ORG/NAME": {"files": {"path/in/repo": "local path"}, "tags": [...]}}')
    args = parser.parse_args()
    hub = HubStandIn(latency=args.latency)
    if args.manifest:
        for repo_id, repo in json.loads(Path(args.manifest).read_text()).items():
            hub.add_repo(repo_id, {name: Path(p) for name, p in repo["files"].items()}, tags=repo.get("tags"))
    print(hub.start(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":  # pragma: no cover
    main()


def client_env(hub: HubStandIn, home: Path, token: str | None = None) -> dict[str, str]:
    """Environment for a quantlint process that talks to `hub` (never the real Hub): fast
    retries, a private HF_HOME and scan cache, no telemetry request."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("HF_", "HUGGING_FACE_", "QUANTLINT_")) and key not in ("CI", "PRE_COMMIT")}
    env.update({
        "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HOME": str(home / "hf-home"), "QUANTLINT_CACHE_DIR": str(home / "quantlint-cache"),
        "QUANTLINT_HTTP_BACKOFF": "0.01", "QUANTLINT_HTTP_MAX_WAIT": "0.05", "QUANTLINT_HTTP_RETRIES": "3",
        "NO_COLOR": "1",
    })
    if token:
        env["HF_TOKEN"] = token
    return env

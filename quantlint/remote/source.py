"""RemoteFileSource: a ByteSource over HTTP Range requests, through huggingface_hub's session.

Cost model: the first request reads a prefix sized for a typical header (2 MiB for GGUF, which
covers every model with a vocabulary up to ~150k tokens; 64 KiB for safetensors, whose JSON
header is usually far smaller). When the walker finds that the header runs past it, it tells us
(prefetch_hint) where it estimates the header ends, and one more request fetches up to there
plus a margin. The real Gemma 3 270M header (6.5 MB) thus costs 2 requests.

Every byte fetched from offset 0 is kept, so the sniff in read_source and the walker's own
buffer never ask twice. Failures: 429 (honouring Retry-After), 5xx and network errors retry
through huggingface_hub's http_stream_backoff; a dropped connection or a short body while
reading retries here; after that the source records `failure` and raises SourceError, and the
caller turns it into a per-target error. A server that ignores Range (200 with the whole body)
is refused before its body is read.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from quantlint import __version__
from quantlint.remote import HttpPolicy, http_policy, request_gate
from quantlint.sources import SourceError

GGUF_FIRST_READ = 2 << 20  # a typical GGUF header: Llama 2/Mistral ~1 MB, Qwen2 ~3.5 MB
SAFETENSORS_FIRST_READ = 64 << 10
MIN_GROW = 256 << 10  # never creep forward in tiny requests
MAX_MARGIN = 1 << 20  # past the walker's estimate of the header end (budget: header + 2 MiB)
MAX_REQUEST = 256 << 20  # a header larger than this is no header: refuse to fetch it


class _Retry(Exception):
    """A retryable failure while reading a body (not an httpx type, so it leaves the backoff
    generator cleanly instead of being retried inside it)."""


def _content_range_total(value: str | None) -> int | None:
    # "bytes 0-1023/4096" or "bytes */4096"
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def describe_http_error(exc: BaseException, what: str) -> str:
    """One line for a failed request: what failed and what to do. Never echoes headers."""
    from huggingface_hub import errors

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, errors.GatedRepoError):
        return f"{what}: gated repo: accept its terms on the Hub and set HF_TOKEN to a token with access"
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"{what}: revision not found"
    if isinstance(exc, errors.RemoteEntryNotFoundError):
        return f"{what}: file not found in the repo"
    if isinstance(exc, errors.RepositoryNotFoundError):
        return f"{what}: repository not found (or private: set HF_TOKEN to a token with access)"
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return f"{what}: offline mode is on (HF_HUB_OFFLINE) and this is not in the local Hugging Face cache"
    if status == 429:
        return f"{what}: rate-limited by the server (HTTP 429) after retries; try again later or with HF_TOKEN"
    if status == 401 or status == 403:
        return f"{what}: access denied (HTTP {status}); set HF_TOKEN to a token with access"
    if status is not None:
        return f"{what}: HTTP {status} after retries"
    name = type(exc).__name__
    detail = str(exc).splitlines()[0] if str(exc) else name
    return f"{what}: network error after retries ({name}: {detail[:160]})"


def is_hub_url(url: str) -> bool:
    """True when the URL points at the configured Hub endpoint: only then is HF_TOKEN sent."""
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    a, b = urlsplit(url), urlsplit(constants.ENDPOINT)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc) or a.netloc in ("huggingface.co", "hf.co")


def request_headers(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    from huggingface_hub.utils import build_hf_headers

    token: bool | None = None if is_hub_url(url) else False  # never leak a token to another host
    headers = build_hf_headers(token=token, library_name="quantlint", library_version=__version__)
    headers["Accept-Encoding"] = "identity"  # a gzip-ing CDN ignores Range (file_download.http_get)
    headers.update(extra or {})
    return headers


class RemoteFileSource:
    """One remote file as a ByteSource. Thread-confined: one lint job uses one source."""

    def __init__(self, url: str, name: str, size: int | None = None, *, first_read: int = GGUF_FIRST_READ,
                 policy: HttpPolicy | None = None) -> None:
        self.url = url
        self.name = name
        self.size = size
        self.first_read = first_read
        self.policy = policy or http_policy()
        self._data = b""  # bytes [0, len) as fetched
        self.requests = 0
        self.bytes_fetched = 0
        self.failure: str | None = None

    # -- ByteSource ---------------------------------------------------------------------------
    def read_at(self, offset: int, length: int) -> bytes:
        if length <= 0 or offset < 0:
            return b""
        end = offset + length
        if self.size is not None:
            end = min(end, self.size)
        if end <= offset:
            return b""
        if end > len(self._data):
            if offset > len(self._data) + MIN_GROW:
                return self._fetch(offset, end)  # a far-away read: do not fill the gap
            want = max(end, self.first_read) if not self._data else end
            if self.size is not None:
                want = min(want, self.size)
            chunk = self._fetch(len(self._data), want)
            self._data = self._data + chunk if self._data else chunk
        if offset == 0 and end >= len(self._data):
            return self._data  # the whole prefix: hand it over without a copy
        return self._data[offset:min(end, len(self._data))]

    def prefetch_hint(self, needed_end: int, estimated_end: int | None) -> int:
        have = len(self._data)
        if needed_end <= have:
            return have  # already here: hand over everything fetched, no request
        if not have:
            return max(needed_end, self.first_read)
        want = needed_end
        if estimated_end is not None and estimated_end > have:
            # The estimate is rough (average token length so far): add a margin so one
            # request covers the header, bounded so it stays within header + 2 MiB.
            margin = min(MAX_MARGIN, max(MIN_GROW, (estimated_end - have) // 8))
            want = max(want, estimated_end + margin)
        return max(want, have + MIN_GROW)

    # -- HTTP ---------------------------------------------------------------------------------
    def _fetch(self, start: int, end: int) -> bytes:
        """Bytes [start, end) in one ranged GET (retried); fewer only at end of file."""
        if end - start > MAX_REQUEST:
            raise self._fail(f"{self.name}: refusing to fetch {end - start:,} bytes of header in one request")
        policy = self.policy
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._get(start, end)
            except _Retry as exc:
                if attempt > policy.retries:
                    raise self._fail(f"{self.name}: {exc} (after {policy.retries} retries)") from None
                time.sleep(min(policy.max_wait, policy.base_wait * 2 ** (attempt - 1)))
            except SourceError:
                raise
            except Exception as exc:  # noqa: BLE001 - HTTP errors after huggingface_hub's retries
                raise self._fail(describe_http_error(exc, self.name)) from None

    def _fail(self, message: str) -> SourceError:
        self.failure = message
        return SourceError(message)

    def _get(self, start: int, end: int) -> bytes:
        from huggingface_hub.utils import hf_raise_for_status, http_stream_backoff

        policy = self.policy
        headers = request_headers(self.url, {"Range": f"bytes={start}-{end - 1}"})
        self.requests += 1
        with request_gate(), http_stream_backoff("GET", self.url, headers=headers, timeout=policy.timeout,
                                                 max_retries=policy.retries, base_wait_time=policy.base_wait,
                                                 max_wait_time=policy.max_wait) as response:
            if response.status_code == 416:  # range past the end: the file is shorter than start
                total = _content_range_total(response.headers.get("Content-Range"))
                if total is not None:
                    self.size = total
                return b""
            if response.status_code >= 400:
                response.read()
                hf_raise_for_status(response)
            if response.status_code == 200:
                raise self._fail(f"{self.name}: the server ignored the Range header (HTTP 200 with the whole "
                                 "file); quantlint reads headers only and will not download the file")
            if response.status_code != 206:
                raise self._fail(f"{self.name}: unexpected HTTP {response.status_code} for a range request")
            total = _content_range_total(response.headers.get("Content-Range"))
            if total is not None:
                self.size = total
            expected = (min(end, total) if total is not None else end) - start
            body = self._read_body(response, expected)
        self.bytes_fetched += len(body)
        if len(body) < expected:
            raise _Retry(f"short read: {len(body):,} of {expected:,} bytes")
        return body

    @staticmethod
    def _read_body(response: Any, expected: int) -> bytes:
        from huggingface_hub.utils import httpx

        chunks: list[bytes] = []
        got = 0
        try:
            for chunk in response.iter_raw():  # identity encoding: the raw bytes, as they arrive
                chunks.append(chunk)
                got += len(chunk)
                if got > expected:
                    break  # more than asked for: never read on, whatever the server sends
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise _Retry(f"connection broke after {got:,} bytes ({type(exc).__name__})") from None
        body = b"".join(chunks)
        return body if len(body) <= expected else body[:expected]


_LOCK = threading.Lock()


def quiet_hub_logs() -> None:
    """huggingface_hub logs every retry as a warning on stderr; quantlint reports failures itself."""
    with _LOCK:
        from huggingface_hub.utils import logging as hf_logging

        hf_logging.set_verbosity_error()

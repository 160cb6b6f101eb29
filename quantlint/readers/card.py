"""Model cards: the README.md front matter that says what a model was made from.

Read with the Hub's own front-matter rule (huggingface_hub's RepoCard regex and PyYAML's safe
loader, without importing huggingface_hub), from:
- the README.md next to a GGUF file (Hugging Face snapshot layout) or inside a model folder;
- the file given with `--card PATH` (settings.card_path), instead of either;
- the text of a remote repo's README, which the remote reader fetches and hands to
  `attach_card_from_text`.

A missing or malformed card is a fact, never an error: model.card stays None and a note says
"no card" or "card unreadable: ...". Traps avoided (../shared/reference/hf-hub.md §4):
`ModelCard.load(path)` on a path that does not exist is taken for a repo id and goes to the
network, so local cards are read as text; malformed YAML raises yaml errors, a non-mapping
block ValueError, and a card without front matter has empty data.

`walk_base_chain` follows base_model one step through the Hub for remote targets, so that
"quantized from X, which is a fine-tune of Y" can be checked. It honours HF_ENDPOINT and offline
mode (settings.offline, HF_HUB_OFFLINE: the local Hugging Face cache only); any failure is a
note on the Model. huggingface_hub is imported only when there is a card to fetch.
"""

from __future__ import annotations

import _thread  # threading.Lock is _thread.allocate_lock; importing threading costs a local lint ~1 ms
import os
import re
from typing import Any

from quantlint.model import CardFacts, Model
from quantlint.settings import LintSettings

CARD_NAME = "README.md"
MAX_CARD_BYTES = 4 << 20  # real cards are tens of KB; a 4 MiB "card" is no card worth parsing
FETCH_TIMEOUT = 10.0  # seconds per request; huggingface_hub's shared client has no timeout
CHAIN_MAX_BASES = 2  # a merge lists many bases; walking two is enough to say "a fine-tune of"
_CACHE_REPO = re.compile(r"(?:^|/)models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/[^/]+(?:/|$)")


# -- parsing ------------------------------------------------------------------------------------
def _str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    text = str(value).strip()
    return [text] if text else []


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        joined = ", ".join(_str_list(value))
        return joined or None
    text = str(value).strip()
    return text or None


# huggingface_hub/repocard.py REGEX_YAML_BLOCK: the Hub's own front-matter rule, copied so that a
# local card costs a YAML import (about 15 ms) instead of huggingface_hub's (about 600 ms).
_FRONT_MATTER = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")


def split_front_matter(text: str) -> tuple[dict[str, Any], str, bool]:
    """(metadata, body, had_block) as huggingface_hub's RepoCard reads them.

    Raises yaml.YAMLError for malformed YAML and ValueError for a block that is not a mapping,
    like RepoCard does.
    """
    match = _FRONT_MATTER.search(text)
    if not match:
        return {}, text, False
    import yaml  # PyYAML, what huggingface_hub parses cards with; imported only for a card

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(match.group(2), Loader=loader)  # noqa: S506 - a safe loader
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError("repo card metadata block should be a dict")
    return data, text[match.end():], True


def _model_index_name(index: Any) -> str | None:
    """The model name a card's `model-index` gives (huggingface_hub's ModelCardData reads it the same way)."""
    if isinstance(index, list) and index and isinstance(index[0], dict):
        return _str_or_none(index[0].get("name"))
    return None


def parse_card(text: str, source: str) -> tuple[CardFacts | None, str | None]:
    """(CardFacts, note) from a card's text. Never raises: a bad card gives (None, "card unreadable: ...")."""
    try:
        data, body, _ = split_front_matter(text)
    except Exception as exc:  # yaml.YAMLError, ValueError for a non-mapping block
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return None, f"card unreadable: {source}: {type(exc).__name__}{': ' + first if first else ''}"
    facts = CardFacts(
        source=source,
        base_model=_str_list(data.get("base_model")),
        base_model_relation=_str_or_none(data.get("base_model_relation")),
        quantized_by=_str_or_none(data.get("quantized_by")),
        pipeline_tag=_str_or_none(data.get("pipeline_tag")),
        tags=_str_list(data.get("tags")),
        language=_str_list(data.get("language")),
        datasets=_str_list(data.get("datasets")),
        license=_str_or_none(data.get("license")),
        model_name=_str_or_none(data.get("model_name")) or _model_index_name(data.get("model-index")),
        text=body,
    )
    note = None if data else f"card {source} has no metadata block (front matter)"
    return facts, note


def attach_card_from_text(model: Model, text: str, source: str) -> Model:
    """Attach a card read elsewhere (the remote reader's fetched README) to the model."""
    facts, note = parse_card(text, source)
    if facts is not None:
        model.card = facts
    if note:
        model.notes.append(note)
    return model


def read_card_file(path: str) -> tuple[CardFacts | None, str | None]:
    try:
        size = os.stat(path).st_size
        if size > MAX_CARD_BYTES:
            return None, f"card unreadable: {path}: {size:,} bytes is more than the {MAX_CARD_BYTES:,}-byte limit"
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return None, f"card unreadable: {path}: {exc.strerror or exc}"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, f"card unreadable: {path}: not UTF-8 text"
    return parse_card(text, path)


# -- where a local card is ----------------------------------------------------------------------
# Plain strings and os.path: this runs on every local lint, and pathlib (with the urllib.parse
# it imports) would cost it about 2 ms of start-up.
def card_location(target_kind: str, path: str) -> str:
    """README.md inside a model folder, or next to a GGUF file (Hugging Face snapshot layout)."""
    folder = path if target_kind == "hf-dir" or os.path.isdir(path) else os.path.dirname(path)
    return os.path.normpath(os.path.join(folder, CARD_NAME))


def repo_from_cache_path(path: str) -> str | None:
    """org/name for a file inside the Hugging Face cache (models--org--name/snapshots/<sha>/...)."""
    m = _CACHE_REPO.search(os.path.normpath(path).replace(os.sep, "/"))
    return f"{m.group('org')}/{m.group('name')}" if m else None


def attach_local_card(model: Model, target_kind: str, path: str, settings: LintSettings | None) -> Model:
    """Find, read and attach the card of a locally read model. Never touches the network."""
    if model.identity.repo is None:
        model.identity.repo = repo_from_cache_path(path)
    chosen = settings.card_path if settings is not None else None
    if chosen:
        card_file = os.path.normpath(chosen)
        if not os.path.isfile(card_file):
            model.notes.append(f"card unreadable: {chosen}: no such file (--card)")
            return model
    else:
        card_file = card_location(target_kind, path)
        if not os.path.isfile(card_file):
            model.notes.append("no card")
            return model
    facts, note = read_card_file(card_file)
    if facts is not None:
        model.card = facts
    if note:
        model.notes.append(note)
    return model


# -- the Hub: one step up the base_model chain ----------------------------------------------------
def is_offline(settings: LintSettings | None) -> bool:
    if settings is not None and settings.offline:
        return True
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _looks_like_repo_id(value: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", value)) and ".." not in value


_FETCHED: dict[tuple[str, str, bool], tuple[str | None, str | None]] = {}  # per process: a scan of
_FETCH_LOCK = _thread.allocate_lock()  # one repo's 20 files asks for the same base card 20 times, concurrently


def clear_fetch_cache() -> None:
    with _FETCH_LOCK:
        _FETCHED.clear()


def fetch_card_text(repo_id: str, settings: LintSettings | None = None) -> tuple[str | None, str | None]:
    """(README text, None) or (None, note). Offline: the local Hugging Face cache only."""
    key = (os.environ.get("HF_ENDPOINT", ""), repo_id, is_offline(settings))
    with _FETCH_LOCK:
        if key not in _FETCHED:
            _FETCHED[key] = _fetch_card_text(repo_id, settings)
        return _FETCHED[key]


def _fetch_card_text(repo_id: str, settings: LintSettings | None) -> tuple[str | None, str | None]:
    if not _looks_like_repo_id(repo_id):
        return None, f"card of {repo_id!r} not fetched: not a Hugging Face repo id"
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError as exc:  # pragma: no cover - a dependency
        return None, f"card of {repo_id} not fetched: {exc}"
    if is_offline(settings):
        cached = try_to_load_from_cache(repo_id, CARD_NAME)
        if isinstance(cached, str) and os.path.isfile(cached):
            try:
                with open(cached, encoding="utf-8-sig") as fh:
                    return fh.read(), None
            except (OSError, UnicodeDecodeError) as exc:
                return None, f"card of {repo_id} unreadable in the cache: {exc}"
        return None, f"card of {repo_id} not in the local cache (offline mode)"
    return _fetch_online(repo_id)


def _fetch_online(repo_id: str) -> tuple[str | None, str | None]:
    from huggingface_hub import constants, get_token, hf_hub_url
    from huggingface_hub.utils import get_session

    from quantlint import __version__

    endpoint = (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    url = hf_hub_url(repo_id, CARD_NAME, endpoint=endpoint)
    # Not build_hf_headers(): unless telemetry is disabled it fetches an "agent harnesses"
    # registry from huggingface.co to build the user agent, a request the user never asked for.
    headers = {"user-agent": f"quantlint/{__version__}"}
    token = get_token()
    if token:
        headers["authorization"] = f"Bearer {token}"
    try:
        response = get_session().get(url, headers=headers, timeout=FETCH_TIMEOUT)
    except Exception as exc:  # offline hook, connection refused, timeout, TLS: a note, not a crash
        return None, f"card of {repo_id} not fetched: {type(exc).__name__}: {exc}"
    status = response.status_code
    if status == 200:
        if len(response.content) > MAX_CARD_BYTES:
            return None, f"card of {repo_id} not read: more than {MAX_CARD_BYTES:,} bytes"
        try:
            return response.content.decode("utf-8-sig"), None
        except UnicodeDecodeError:
            return None, f"card of {repo_id} unreadable: not UTF-8 text"
    code = response.headers.get("X-Error-Code", "")
    if status == 404 and code == "EntryNotFound":
        return None, f"{repo_id} has no card"
    if status == 404 or code == "RepoNotFound":
        return None, f"{repo_id}: no such repo on the Hub (or it is private)"
    if status in (401, 403) or code == "GatedRepo":
        return None, f"card of {repo_id} not readable: gated or private (HTTP {status})"
    return None, f"card of {repo_id} not fetched: HTTP {status}"


def walk_base_chain(model: Model, settings: LintSettings | None = None) -> Model:
    """Read the card of each base_model the model's card names, and record what it says it was
    made from: model.provenance["chain"] = [{"repo", "base_model", "relation", "note"}]."""
    card = model.card
    if card is None or not card.base_model:
        return model
    chain: list[dict[str, Any]] = []
    for repo_id in card.base_model[:CHAIN_MAX_BASES]:
        text, note = fetch_card_text(repo_id, settings)
        step: dict[str, Any] = {"repo": repo_id, "base_model": [], "relation": None, "note": note}
        if text is not None:
            facts, parse_note = parse_card(text, f"hf://{repo_id}/{CARD_NAME}")
            if facts is not None:
                step["base_model"] = facts.base_model
                step["relation"] = facts.base_model_relation
                step["tags"] = facts.tags
            step["note"] = parse_note
        if step["note"]:
            model.notes.append(step["note"])
        chain.append(step)
    provenance = dict(getattr(model, "provenance", None) or {})
    provenance["chain"] = chain
    model.provenance = provenance
    return model

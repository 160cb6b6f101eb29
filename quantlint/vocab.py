"""Look tokens up in the raw tokenizer arrays of a GGUF header, without decoding the vocab.

The reader keeps tokenizer.ggml.tokens as its raw bytes (a run of u64-length-prefixed UTF-8
strings in the file's byte order) and tokenizer.ggml.token_type as a raw int32 array. A check
that asks "is `<|im_start|>` a token, and of which type?" needs a handful of answers, not a
262,144-entry dict: decoding the Gemma vocab into Python strings costs ~100 ms and ~30 MB.

So a lookup searches the blob for the token's own length-prefixed encoding (bytes.find runs
in C), and only when it hits computes the token index. The index needs the offsets of the
strings before the hit; those are walked once per blob (one tight struct loop, bounded by the
blob) and kept, so each further lookup is a find plus a binary search.
"""

from __future__ import annotations

import struct
from bisect import bisect_left
from dataclasses import dataclass, field

from quantlint.facts.pretokenizers import SPECIAL_MATCHED_TYPES, TOKEN_TYPES


@dataclass(frozen=True)
class TokenHit:
    text: str
    index: int
    type_id: int | None  # None when the file has no token_type array

    @property
    def type_name(self) -> str:
        if self.type_id is None:
            return "untyped"
        return TOKEN_TYPES.get(self.type_id, f"type {self.type_id}")

    @property
    def matched_as_special(self) -> bool | None:
        """Would llama.cpp match this token as one piece in a rendered prompt? None: unknown."""
        if self.type_id is None:
            return None
        return self.type_id in SPECIAL_MATCHED_TYPES


@dataclass
class VocabIndex:
    """Lookups over one tokens blob (and its optional token_type blob)."""

    tokens_blob: bytes
    token_types_blob: bytes | None = None
    byte_order: str = "<"
    _offsets: list[int] | None = field(default=None, repr=False)
    _cache: dict[str, TokenHit | None] = field(default_factory=dict, repr=False)

    def _prefix(self, raw: bytes) -> bytes:
        return struct.pack(self.byte_order + "Q", len(raw)) + raw

    def offsets(self) -> list[int]:
        """The byte offset of every string in the blob (walked once, then kept)."""
        if self._offsets is None:
            blob = self.tokens_blob
            unpack = struct.Struct(self.byte_order + "Q").unpack_from
            out: list[int] = []
            append = out.append
            pos, end = 0, len(blob)
            while pos + 8 <= end:
                append(pos)
                (length,) = unpack(blob, pos)
                pos += 8 + length
            if pos > end and out:  # a malformed last string: do not count it
                out.pop()
            self._offsets = out
        return self._offsets

    def index_at(self, offset: int) -> int | None:
        """The token index whose string starts at `offset`, or None if no string starts there."""
        offsets = self.offsets()
        i = bisect_left(offsets, offset)
        return i if i < len(offsets) and offsets[i] == offset else None

    def text_at(self, index: int) -> str | None:
        """The text of token `index` (one decode, for messages and cross-checks)."""
        offsets = self.offsets()
        if not 0 <= index < len(offsets):
            return None
        pos = offsets[index]
        (length,) = struct.unpack_from(self.byte_order + "Q", self.tokens_blob, pos)
        return self.tokens_blob[pos + 8:pos + 8 + length].decode("utf-8", errors="replace")

    def type_of(self, index: int) -> int | None:
        blob = self.token_types_blob
        if blob is None or index < 0 or 4 * index + 4 > len(blob):
            return None
        return struct.unpack_from(self.byte_order + "i", blob, 4 * index)[0]

    def find(self, text: str) -> TokenHit | None:
        """The first token whose text is exactly `text`, or None."""
        if text in self._cache:
            return self._cache[text]
        hit = self._find(text)
        self._cache[text] = hit
        return hit

    def _find(self, text: str) -> TokenHit | None:
        needle = self._prefix(text.encode("utf-8"))
        blob = self.tokens_blob
        start = blob.find(needle)
        while start != -1:
            # The needle can occur inside another string's bytes; only a string boundary counts.
            index = self.index_at(start)
            if index is not None:
                return TokenHit(text, index, self.type_of(index))
            start = blob.find(needle, start + 1)
        return None

    def __contains__(self, text: str) -> bool:
        return self.find(text) is not None

    def __len__(self) -> int:
        return len(self.offsets())


def vocab_index(tokens_blob: bytes | None, token_types_blob: bytes | None = None,
                byte_order: str = "<") -> VocabIndex | None:
    """A VocabIndex, or None when the file carries no token strings (nothing to look up)."""
    if not tokens_blob:
        return None
    return VocabIndex(tokens_blob, token_types_blob, byte_order)


def encode_tokens(tokens: list[str], byte_order: str = "<") -> bytes:
    """The blob a GGUF writer produces for `tokens` (for tests and in-memory models)."""
    out = bytearray()
    for t in tokens:
        raw = t.encode("utf-8")
        out += struct.pack(byte_order + "Q", len(raw)) + raw
    return bytes(out)


def encode_token_types(types: list[int], byte_order: str = "<") -> bytes:
    return struct.pack(f"{byte_order}{len(types)}i", *types)


# Matrices with one row per token: tensor name -> (what it is, index of the vocabulary
# dimension in the stored shape). GGUF stores shapes in ggml order (ne0 first), so the vocab is
# the second dimension; safetensors stores (vocab, hidden).
GGUF_VOCAB_MATRICES = {"token_embd.weight": ("token embedding", 1), "output.weight": ("output head", 1)}
HF_VOCAB_MATRICES = {"model.embed_tokens.weight": ("token embedding", 0), "lm_head.weight": ("output head", 0),
                     "transformer.wte.weight": ("token embedding", 0)}


def vocab_matrices(model) -> list[tuple[object, str, int]]:
    """(tensor, what it is, rows) for each 2-D embedding/output matrix of the model."""
    table = GGUF_VOCAB_MATRICES if model.format == "gguf" else HF_VOCAB_MATRICES
    out = []
    for t in model.tensors:
        spec = table.get(t.name)
        if spec is not None and len(t.shape) == 2:
            out.append((t, spec[0], t.shape[spec[1]]))
    return out

"""Chat templates as data: parsed with jinja2's parser, analysed as an AST, never rendered.

`template_sources(model)` lists every template a model carries (tokenizer.chat_template, the
named tokenizer.chat_template.NAME ones, or tokenizer_config.json's for directory targets);
`analyse_template(text)` (quantlint.templates.analysis) parses once and is cached, so the four
template rules share one parse. Importing this package does not import jinja2.
"""

from __future__ import annotations

from collections.abc import Iterator

from quantlint.model import Model


def has_templates(model: Model) -> bool:
    tok = model.tokenizer
    return bool(tok.chat_template) or any(isinstance(t, str) and t for t in tok.named_chat_templates.values())


def template_sources(model: Model) -> Iterator[tuple[str, str]]:
    """(location, template text) for each distinct template; duplicates are analysed once."""
    tok = model.tokenizer
    gguf = model.format == "gguf"
    main = tok.chat_template_source or ("tokenizer.chat_template" if gguf else "tokenizer_config.json chat_template")
    seen: set[str] = set()
    candidates: list[tuple[str, str | None]] = [(main, tok.chat_template)]
    for name, text in sorted(tok.named_chat_templates.items()):
        where = f"tokenizer.chat_template.{name}" if gguf else f"tokenizer_config.json chat_template[{name}]"
        candidates.append((where, text))
    for location, text in candidates:
        if not isinstance(text, str) or text in seen:
            continue
        seen.add(text)
        yield location, text

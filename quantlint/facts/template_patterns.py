"""What quantlint looks for in a chat template: the one table, with the reason for each entry.

Sources:
- CVE-2024-34359 / GHSA-56xg-wfcc-g829 (llama-cpp-python 0.2.30-0.2.71 rendered GGUF chat
  templates in an unsandboxed jinja2.Environment; the PoC walks
  ().__class__.__base__.__subclasses__() to __builtins__['__import__']('os').popen(...)), see
  ../shared/reference/quality-evidence.md §7; SGLang CVE-2026-5760 is the same bug class.
- jinja2's own sandbox (jinja2/sandbox.py): it refuses attributes starting with "_" and the
  internal attributes of functions, frames, generators and code objects (UNSAFE_*_ATTRIBUTES);
  the template globals every Environment defines (jinja2/defaults.py DEFAULT_NAMESPACE: range,
  dict, lipsum, cycler, joiner, namespace) and `self` (TemplateReference); Flask adds config,
  request, session, g, url_for, get_flashed_messages. Jinja2 < 3.1.5 also had a sandbox
  breakout through an indirect str.format reference (CVE-2024-56326): a sandbox alone is not
  enough on old installs, which is why the format/attr constructs are listed.
- The peers' rule sets (../shared/reference/peers.md): c4nary TPL000-032 (dunder access,
  gadgets, |attr, string reconstruction, content-gated injection, date logic bombs,
  invisible/bidi code points, include/import), glyphhound GH-S001-S004; pillar's miss of
  os.popen/__subclasses__ shows that substring lists of "eval(" and "subprocess.Popen" are not
  enough.
- Role/control token shapes: the chat templates shipped in llama.cpp's vocab files
  (gguf-facts.md §8: command-r, phi-3, qwen2, qwen35, gemma-4) and the families' published
  templates (Llama 3 <|start_header_id|>, ChatML <|im_start|>, Gemma <start_of_turn>,
  Mistral [INST], Phi-3 <|user|>, DeepSeek <｜User｜>).
"""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """A regex compiled on first use: the rule modules import this table at start-up, and a
    GGUF without a chat template should not pay for compiling patterns it never runs."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        value = getattr(re.compile(*self._args), name)
        setattr(self, name, value)  # later lookups find it directly
        return value


# -- QL601: reaching Python internals ----------------------------------------------------------
DUNDER = LazyPattern(r"^__[A-Za-z0-9_]+__$")
DUNDER_INSIDE = LazyPattern(r"__[A-Za-z][A-Za-z0-9_]*__")

# Names that are objects in every jinja2 render (or in Flask's), whose attributes lead to
# Python functions and from there to __globals__ / __builtins__. Calling cycler/joiner/
# namespace is normal in chat templates (Llama 3.1 and Qwen2.5 use namespace()); reaching
# *through* them (an attribute or item of the bare name) is what the SSTI chains do.
GADGET_NAMES: dict[str, str] = {
    "cycler": "jinja2 global class; cycler.__init__.__globals__ reaches the jinja2.utils module and its os import",
    "joiner": "jinja2 global class; joiner.__init__.__globals__ is the same route as cycler",
    "namespace": "jinja2 global class; namespace.__init__.__globals__ is the same route as cycler",
    "lipsum": "jinja2 global function; lipsum.__globals__ holds the module globals (os among them)",
    "range": "builtin exposed as a jinja2 global; range.__class__ / __self__ lead to builtins",
    "dict": "builtin exposed as a jinja2 global; dict.__class__ leads to type and its subclasses",
    "self": "the TemplateReference; self._TemplateReference__context exposes the render context",
    "config": "Flask's config object: the classic Flask SSTI entry (config.__class__.__init__.__globals__)",
    "request": "Flask's request object: request.application.__globals__ reaches builtins",
    "session": "Flask's session object, another Flask SSTI entry",
    "g": "Flask's app-context globals object",
    "url_for": "Flask function; url_for.__globals__ holds current_app and os",
    "get_flashed_messages": "Flask function; its __globals__ is the same route as url_for",
}

# Bare names that no chat template context defines: a template naming them probes for a runtime
# that leaks Python builtins into the context.
DANGEROUS_NAMES: dict[str, str] = {
    "os": "the os module: popen/system run shell commands",
    "subprocess": "the subprocess module runs programs",
    "sys": "the sys module reaches every loaded module (sys.modules)",
    "builtins": "the builtins module holds __import__, eval, exec, open",
    "__builtins__": "the builtins of a function's globals: __import__, eval, exec, open",
    "__import__": "imports any module by name",
    "importlib": "imports any module by name",
    "eval": "evaluates Python source",
    "exec": "executes Python source",
    "compile": "compiles Python source for eval/exec",
    "open": "opens files on the host",
    "getattr": "reaches any attribute by a computed name, past the sandbox's name checks",
    "globals": "returns a module's global namespace",
    "locals": "returns the caller's local namespace",
    "popen": "runs a shell command",
    "system": "runs a shell command",
}

# Attribute or item names on any object that lead to code execution or Python internals.
DANGEROUS_ATTRIBUTES: dict[str, str] = {
    "popen": "os.popen runs a shell command (the CVE-2024-34359 PoC's sink)",
    "system": "os.system runs a shell command",
    "Popen": "subprocess.Popen runs a program",
    "check_output": "subprocess.check_output runs a program",
    "getoutput": "subprocess.getoutput runs a shell command",
    "run": "subprocess.run runs a program (only with an os/subprocess/builtins base)",
    "spawnv": "os.spawnv starts a program",
    "execv": "os.execv replaces the process",
    "import_module": "importlib.import_module imports any module",
    "os": "the os module reached as an attribute or item (e.g. __globals__['os'])",
    "subprocess": "the subprocess module reached as an attribute or item",
    "sys": "the sys module reached as an attribute or item",
    "builtins": "the builtins module reached as an attribute or item",
    "modules": "sys.modules: every loaded module",
    "mro": "type.mro(): the class hierarchy, the way to object.__subclasses__",
    "f_globals": "frame globals (jinja2 sandbox UNSAFE_FRAME_ATTRIBUTES)",
    "f_locals": "frame locals",
    "f_back": "the calling frame",
    "f_builtins": "frame builtins",
    "gi_frame": "a generator's frame (jinja2 sandbox UNSAFE_GENERATOR_ATTRIBUTES)",
    "gi_code": "a generator's code object",
    "cr_frame": "a coroutine's frame",
    "ag_frame": "an async generator's frame",
    "tb_frame": "a traceback's frame",
    "func_globals": "Python 2 spelling of __globals__ (jinja2 sandbox UNSAFE_FUNCTION_ATTRIBUTES)",
    "func_code": "Python 2 spelling of __code__",
    "im_func": "Python 2 bound-method internals",
    "co_code": "a code object's bytecode",
}
# "run" is too common a word to flag on any base; it counts only after one of these.
MODULE_LIKE_ATTRIBUTES = frozenset({"run"})
MODULE_NAMES = frozenset({"os", "subprocess", "sys", "builtins", "__builtins__", "importlib"})

# Tags that load other templates: a chat template is one self-contained string, and a loader
# pointed at the file system or a URL is a way out of it.
TEMPLATE_LOADING_TAGS: dict[str, str] = {
    "Include": "{% include %} loads another template by name",
    "Import": "{% import %} loads another template's macros",
    "FromImport": "{% from ... import %} loads another template's macros",
    "Extends": "{% extends %} renders inside another template",
}

# Filters that read attributes by a name given as data (past the parser's attribute syntax).
ATTRIBUTE_FILTERS: dict[str, str] = {
    "attr": "|attr(name) reads any attribute by a computed name; the usual way to smuggle a dunder",
    "map": "|map(attribute=name) reads an attribute of every item",
    "selectattr": "|selectattr(name) reads an attribute of every item",
    "rejectattr": "|rejectattr(name) reads an attribute of every item",
    "sort": "|sort(attribute=name) reads an attribute of every item",
    "groupby": "|groupby(name) reads an attribute of every item",
    "sum": "|sum(attribute=name) reads an attribute of every item",
    "unique": "|unique(attribute=name) reads an attribute of every item",
    "min": "|min(attribute=name) reads an attribute of every item",
    "max": "|max(attribute=name) reads an attribute of every item",
}

# -- QL602: constructs no legitimate chat template needs ---------------------------------------
# Invisible and bidirectional code points: text a reviewer cannot see, or that reorders what
# they see (Trojan Source, CVE-2021-42574). (start, end inclusive, label)
INVISIBLE_RANGES: list[tuple[int, int, str]] = [
    (0x00AD, 0x00AD, "soft hyphen (invisible)"),
    (0x034F, 0x034F, "combining grapheme joiner (invisible)"),
    (0x061C, 0x061C, "Arabic letter mark (bidi)"),
    (0x115F, 0x1160, "Hangul filler (invisible)"),
    (0x180E, 0x180E, "Mongolian vowel separator (invisible)"),
    (0x200B, 0x200F, "zero-width space/joiner or LTR/RTL mark"),
    (0x202A, 0x202E, "bidi embedding/override (Trojan Source)"),
    (0x2060, 0x2064, "word joiner or invisible operator"),
    (0x2066, 0x2069, "bidi isolate (Trojan Source)"),
    (0x206A, 0x206F, "deprecated format character (invisible)"),
    (0x3164, 0x3164, "Hangul filler (invisible)"),
    (0xFEFF, 0xFEFF, "zero-width no-break space / BOM"),
    (0xFFA0, 0xFFA0, "halfwidth Hangul filler (invisible)"),
    (0xE0000, 0xE007F, "Unicode tag character (invisible ASCII smuggling)"),
]
INVISIBLE_CHARS = LazyPattern("[" + "".join(
    f"\\U{start:08x}" + (f"-\\U{end:08x}" if end != start else "") for start, end, _ in INVISIBLE_RANGES) + "]")

# Strings that look like a network endpoint or a shell command: a chat template formats
# messages; it never needs to name a host or run a program.
# (Patterns start with a literal or a character class, never with \b or a lookbehind, so the
# regex engine can skip ahead: a 1 MB template scans in milliseconds. Word boundaries are
# checked on the match by the analysis.)
NETWORK_PATTERNS: dict[str, tuple[LazyPattern, str]] = {
    "url": (LazyPattern(r"(?:https?|ftp|wss?|file|HTTPS?|FTP|WSS?|FILE|Https?)://[^\s'\"<>{}]+"),
            "a URL: a template has no reason to name a host, and a runtime that fetches or a model told to visit it leaks data"),
    # Found from its first dot (a literal the engine can search for fast); the first octet and
    # the port are taken around the match by ipv4_around().
    "ipv4": (LazyPattern(r"\.\d{1,3}\.\d{1,3}\.\d{1,3}"), "an IPv4 address"),
    # Found from the option dash (" -"), then the command word before it is checked; /bin/sh directly.
    "shell": (LazyPattern(r"[ \t]-{1,2}[A-Za-z]|/bin/(?:ba)?sh"), "a shell command line"),
}
SHELL_COMMANDS = LazyPattern(r"(?:^|[^\w.-])(?:curl|wget|ncat|nc|bash|sh|powershell|rm)[ \t]*$")
# Candidates examined per pattern and template: a template made of "1.2.3.4.5..." cannot make
# the scan slow.
MAX_SCAN_CANDIDATES = 4096


def ipv4_around(source: str, start: int, end: int) -> tuple[int, int, str] | None:
    """Complete a ".b.c.d" match to "a.b.c.d[:port]" and validate it; None if it is no address."""
    first = start
    while first > 0 and start - first < 3 and source[first - 1].isdigit():
        first -= 1
    if first == start:
        return None
    stop = end
    port = re.match(r":\d{2,5}", source[end:end + 6])
    if port:
        stop = end + port.end()
    host = source[first:end]
    if not all(part and len(part) <= 3 and int(part) <= 255 for part in host.split(".")):
        return None
    return first, stop, source[first:stop]


# A single literal longer than this is a payload rather than a prompt (the longest literal in
# the Command-R tool_use template shipped with llama.cpp is about 600 characters; Llama 3.1's
# built-in tool preamble is under 1,000).
MAX_LITERAL_CHARS = 8192
# The work quantlint spends on one template. jinja2's lexer and parser cost about 140-200 us per
# tag (3.5 s for 1 MB of dense ChatML, 27,000 tags, on the 2-core dev machine) and the AST needs
# memory in proportion; plain text is cheap once quantlint.templates.parse condenses long runs.
# The largest real chat template we know (Gemma 4's, shipped in llama.cpp's vocab files) has
# 256 tags in 12 KB; 1,024 tags parse in about 0.15-0.25 s. Beyond these caps a template gets
# the text scans only, and a QL602 finding that says so.
MAX_PARSE_CHARS = 1 << 20
MAX_PARSE_TAGS = 1024
# Base64-looking runs: encoded payloads hide instructions from a reader.
BASE64_MIN_RUN = 200
BASE64_RUN = LazyPattern(rf"[A-Za-z0-9+/]{{{BASE64_MIN_RUN},}}={{0,2}}")

# Conditions on message content that gate literal text: the template writes extra instructions
# only when a keyword appears (a hidden trigger). Comparing content with a tag or a token
# (Qwen3 checks startswith('<tool_response>'), DeepSeek-R1 splits on '</think>') is normal and
# is not counted.
CONTENT_FIELDS = frozenset({"content"})
CONTENT_TEST_METHODS = frozenset({"startswith", "endswith", "find", "count", "index", "rfind", "__contains__", "search", "match"})
TIME_FUNCTIONS = frozenset({"strftime_now", "now", "today"})
TAG_LIKE = LazyPattern(r"^\s*(?:</?[\w\-|.:\u2581\uff5c]+/?>|\[/?[\w\-]+\]|<\|[^|]+\|>)\s*$")
MIN_HIDDEN_WORDS = 3  # emitted literal words in a gated branch that make it an instruction

# -- QL603: role and control tokens a template emits ------------------------------------------
# Shapes that are never plain text: <|...|>, DeepSeek's full-width <｜...｜>, Gemma 4's
# <|turn> / <turn|>.
CONTROL_TOKEN_SHAPES = LazyPattern(
    r"<\|[^\s<>|{}]{1,64}\|>"            # <|im_start|>, <|start_header_id|>
    r"|<\uff5c[^\s<>\uff5c]{1,64}\uff5c>"  # <｜User｜>, <｜end▁of▁sentence｜>
    r"|<\|[A-Za-z_]{1,32}>"              # <|turn>
    r"|<[A-Za-z_]{1,32}\|>"              # <turn|>
)
# Role/control tokens in other shapes, each with whether some real vocabularies carry it as
# plain text (then it is checked only when the vocabulary has another token of its family).
KNOWN_ROLE_TOKENS: dict[str, tuple[str, bool, str]] = {
    "<start_of_turn>": ("gemma", False, "Gemma turn start (a CONTROL token in Gemma vocabularies)"),
    "<end_of_turn>": ("gemma", False, "Gemma turn end"),
    "<bos>": ("gemma", False, "Gemma BOS"),
    "<eos>": ("gemma", False, "Gemma EOS"),
    "<s>": ("spm", False, "SentencePiece BOS (Llama 2, Mistral)"),
    "</s>": ("spm", False, "SentencePiece EOS (Llama 2, Mistral)"),
    "[INST]": ("mistral", True, "Mistral v3+ control token; text in Llama 2 and Mistral v0.1/v0.2 vocabularies"),
    "[/INST]": ("mistral", True, "Mistral v3+ control token; text in Llama 2 and Mistral v0.1/v0.2 vocabularies"),
    "[SYSTEM_PROMPT]": ("mistral", True, "Mistral Small 3+ control token"),
    "[/SYSTEM_PROMPT]": ("mistral", True, "Mistral Small 3+ control token"),
    "[AVAILABLE_TOOLS]": ("mistral", True, "Mistral v3+ tool-list control token"),
    "[/AVAILABLE_TOOLS]": ("mistral", True, "Mistral v3+ tool-list control token"),
    "[TOOL_CALLS]": ("mistral", True, "Mistral v3+ tool-call control token"),
    "[TOOL_RESULTS]": ("mistral", True, "Mistral v3+ tool-result control token"),
    "[/TOOL_RESULTS]": ("mistral", True, "Mistral v3+ tool-result control token"),
}
KNOWN_ROLE_PATTERN = LazyPattern("|".join(re.escape(t) for t in sorted(KNOWN_ROLE_TOKENS, key=len, reverse=True)))
# The characters every token above starts with (CONTROL_TOKEN_SHAPES all start with "<"): a
# literal with none of them emits no token, and is not searched (the alternation of literals
# costs about 4 ms per MB of prose).
ROLE_TOKEN_FIRST_CHARS = "".join(sorted({"<"} | {t[0] for t in KNOWN_ROLE_TOKENS}))

# String methods whose arguments are searched for, not emitted (content.split('</think>')).
SEARCH_METHODS = frozenset({"split", "rsplit", "startswith", "endswith", "find", "rfind", "index",
                            "rindex", "count", "strip", "lstrip", "rstrip", "partition", "rpartition",
                            "removeprefix", "removesuffix"})

# -- data flow (quantlint.templates.flow) -----------------------------------------------------
# The user-controlled inputs a runtime passes to a chat template (transformers'
# apply_chat_template: messages, tools, documents; llama.cpp's common/chat.cpp: messages,
# tools; Llama 3.1's custom_tools; older function-calling templates' functions), and what they
# hold: "records" (messages, documents: free text a user or a retrieved page wrote) or "tools"
# (tool definitions: JSON schemas that templates render by testing their types and keys; a test
# on them renders a schema, it is not a trigger). add_generation_prompt, bos_token, eos_token,
# date_string and the like are chosen by the runtime, not by the user: they are not listed.
USER_SOURCES: dict[str, str] = {"messages": "records", "documents": "records", "tools": "tools",
                                "custom_tools": "tools", "functions": "tools"}
# Fields of a message/tool/content part that hold structure, not free text: comparing them
# with a string (`message.role == 'system'`, `part.type == 'image'`) is how every chat format
# works, never a trigger.
STRUCTURAL_FIELDS = frozenset({"role", "type", "id", "tool_call_id", "index", "mime_type", "format",
                               "__class__", "__name__"})
# Fields that hold tool definitions or tool calls (schemas and generated calls, like USER_SOURCES' "tools").
TOOL_FIELDS = frozenset({"tool_calls", "function", "functions", "parameters", "properties", "items",
                         "arguments", "tools", "required", "enum", "schema", "json_schema"})
# Fields that hold free text (a message's content and reasoning, a document's text).
TEXT_FIELDS = frozenset({"content", "text", "reasoning_content", "reasoning", "thinking", "title", "snippet",
                         "description"})
# jinja2 tests that compare their operand with an argument (`x is eq('a')`, selectattr(..., 'in', ...)).
COMPARE_TESTS = frozenset({"eq", "equalto", "==", "ne", "!=", "sameas", "in", "lt", "lessthan", "<", "le", "<=",
                           "gt", "greaterthan", ">", "ge", ">="})
# String methods that look for a string in user text: a match, hence a possible trigger.
MATCH_METHODS = frozenset({"startswith", "endswith", "find", "rfind", "index", "rindex", "count", "__contains__"})
# Methods that cut user text on a chosen string: the size of what comes back, or its equality
# with the original, tells whether the string was there (content.split('deploy')|length > 1).
CUT_METHODS = frozenset({"split", "rsplit", "partition", "rpartition", "replace", "removeprefix", "removesuffix"})
# Methods and filters that return text derived from their operand (and arguments).
STRING_METHODS = frozenset({"strip", "lstrip", "rstrip", "lower", "upper", "title", "capitalize", "casefold",
                            "swapcase", "replace", "format", "join", "split", "rsplit", "splitlines", "partition",
                            "rpartition", "removeprefix", "removesuffix", "center", "ljust", "rjust", "zfill",
                            "expandtabs", "encode", "decode"})
STRING_FILTERS = frozenset({"lower", "upper", "trim", "string", "title", "capitalize", "replace", "format", "join",
                            "tojson", "indent", "truncate", "striptags", "wordwrap", "center", "escape", "e",
                            "forceescape", "safe", "urlencode", "xmlattr", "pprint", "list", "reverse", "sort",
                            "unique", "batch", "slice", "dictsort", "items", "groupby"})
NUMBER_FILTERS = frozenset({"length", "count", "wordcount", "int", "float", "abs", "round", "filesizeformat"})
# What a gated branch may write without being an instruction: tags (<think>, </tool_call>,
# <img src=...>, [TOOL_CALLS]) besides the role/control tokens above.
MARKUP_TAGS = LazyPattern(r"</?[A-Za-z_][\w\-.:|]*(?:\s[^<>]{0,200})?/?>|\[/?[A-Z_]{2,}\]")
# An instruction: MIN_HIDDEN_WORDS words in a row separated by spaces (punctuation allowed
# after a word), or six CJK characters in a row (those scripts do not separate words).
SENTENCE_RUN = LazyPattern(r"[^\W\d_][\w'\u2019\-]*(?:[,;:.!?]?[ \t]+[^\W\d_][\w'\u2019\-]*){%d,}"
                           r"|[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{6,}" % (MIN_HIDDEN_WORDS - 1))
# Documented switches a user types to change a model's reasoning mode; a template that writes
# the matching instruction when it sees one does what the model card says. Sources: SmolLM3's
# and Qwen3's model cards ("/think" and "/no_think" in the system prompt or a user turn),
# NVIDIA Llama-Nemotron's ("detailed thinking on" / "detailed thinking off" in the system
# prompt), as the templates shipped in llama.cpp's models/templates apply them. A branch whose
# instruction repeats its own trigger (the template writes the switch the user left out) is
# a default, not a hidden instruction, and is not reported either.
MODE_SWITCHES = frozenset({"/think", "/no_think", "/nothink", "detailed thinking on", "detailed thinking off"})
# Dunders that lead from an object to code, globals, builtins or other classes: reading one is
# a step of an escape (the CVE-2024-34359 PoC: __class__.__base__.__subclasses__() ...
# __builtins__['__import__']). The others (__class__, __name__, __doc__, __init__ alone...)
# lead nowhere by themselves: a lone read of one is refused by the sandbox, not an escape.
REACHING_DUNDERS = frozenset({
    "__globals__", "__builtins__", "__subclasses__", "__mro__", "__base__", "__bases__", "__import__",
    "__code__", "__closure__", "__func__", "__self__", "__dict__", "__getattribute__", "__reduce__",
    "__reduce_ex__", "__loader__", "__spec__", "__getattr__", "__subclasshook__",
    "__init_subclass__", "__class_getitem__", "__wrapped__", "__objclass__", "__func_globals__",
})

# -- invisible characters: what they do where they stand ---------------------------------------
# Bidi overrides and isolates reorder what a reviewer sees (Trojan Source, CVE-2021-42574); tag
# characters are invisible ASCII (the "ASCII smuggling" of prompt injections): both hide text
# wherever they are. Zero-width characters hide a word from a search when they sit inside
# Latin-script text ("ig\u200bnore"). Right-to-left marks (LRM, RLM, ALM) beside Arabic,
# Hebrew or Persian text, and ZWNJ/ZWJ beside Arabic, Persian or Indic letters (or ZWJ inside
# an emoji sequence) are how those scripts are written (Unicode Standard §23.2, UAX #9): nothing.
_HIDING = ((0x202A, 0x202E), (0x2066, 0x2069), (0xE0000, 0xE007F))
_ZERO_WIDTH = frozenset({0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF})
_RTL_MARKS = frozenset({0x200E, 0x200F, 0x061C})
# Scripts whose typography uses joiners and direction marks: Hebrew, Arabic, Syriac, Thaana,
# NKo, Samaritan, Mandaic, Arabic supplements and presentation forms; Indic (Devanagari to
# Malayalam, Sinhala), Thai, Lao, Tibetan, Myanmar, Khmer (word-break ZWSP).
_COMPLEX_SCRIPTS = ((0x0590, 0x08FF), (0x0900, 0x0DFF), (0x0E00, 0x0FFF), (0x1000, 0x109F), (0x1780, 0x17FF),
                    (0xFB1D, 0xFDFF), (0xFE70, 0xFEFC), (0x1F000, 0x1FAFF), (0x2600, 0x27BF))


def _complex_script(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _COMPLEX_SCRIPTS)


def _neighbours(source: str, at: int) -> tuple[str, str]:
    """The nearest visible characters before and after position `at` (skipping invisibles)."""
    before = after = " "
    j = at - 1
    while j >= 0 and at - j <= 8:
        if not INVISIBLE_CHARS.match(source[j]) and not 0xFE00 <= ord(source[j]) <= 0xFE0F:
            before = source[j]
            break
        j -= 1
    j = at + 1
    while j < len(source) and j - at <= 8:
        if not INVISIBLE_CHARS.match(source[j]) and not 0xFE00 <= ord(source[j]) <= 0xFE0F:
            after = source[j]
            break
        j += 1
    return before, after


def invisible_verdict(source: str, at: int) -> str | None:
    """"hides" (an error), "odd" (a warning) or None (typography) for the invisible character at `at`."""
    cp = ord(source[at])
    if any(lo <= cp <= hi for lo, hi in _HIDING):
        if 0xE0000 <= cp <= 0xE007F and _emoji_tag_sequence(source, at):
            return None  # subdivision flags (England, Scotland, Wales) are tag sequences
        return "hides"
    if cp == 0xFEFF and at == 0:
        return "odd"  # a byte-order mark at the start: an editor's, not a trick
    if cp in _RTL_MARKS and any(_complex_script(c) for c in source[max(0, at - 16):at + 17]):
        return None  # a direction mark in right-to-left text, around a Latin name or a number too
    before, after = _neighbours(source, at)
    if cp in _RTL_MARKS or cp in (0x200C, 0x200D):
        if _complex_script(before) or _complex_script(after):
            return None
    if cp in _ZERO_WIDTH:
        if _latin(before) or _latin(after):
            return "hides"
        if _complex_script(before) or _complex_script(after):
            return None
    return "odd"


def _latin(ch: str) -> bool:
    return ch.isalpha() and (ch.isascii() or 0x00C0 <= ord(ch) <= 0x024F)


def _emoji_tag_sequence(source: str, at: int) -> bool:
    j = at
    while j > 0 and at - j < 8 and 0xE0000 <= ord(source[j - 1]) <= 0xE007F:  # flag sequences are short
        j -= 1
    return j > 0 and ord(source[j - 1]) == 0x1F3F4

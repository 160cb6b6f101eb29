"""Chat-template analysis cost: jinja2 parse and the whole QL601-QL604 analysis, per template shape.

    python benchmarks/bench_templates.py [--runs 7]

Shapes (each about 1 MB unless noted):
- realistic: the family templates in fixtures/templates.py (a few KB each);
- literal-data: a ChatML template followed by 1 MB of prose (template data, the shape of a padded payload);
- literal-const: 1 MB inside one string literal;
- dense: ChatML repeated to 1 MB (27,000 tags): over the parse budget, so it gets the text scan only;
- budget-edge: ChatML repeated up to the tag budget (MAX_PARSE_TAGS), the slowest template that is parsed;
- attack-corpus 1 MB: the attack variants of fixtures/template_corpus.py up to the tag budget, each in a
  macro, then prose to 1 MB: the data-flow passes on hostile code at full size.
Prints the median of `runs` for jinja2's parse alone, for the data-flow analysis alone (the
fixed point of quantlint.templates.flow and the judgement of gated branches,
quantlint.templates.gated, on an AST parsed beforehand) and for quantlint's whole analysis
(parse + scans + AST passes), each from a cold cache.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures import templates as T  # noqa: E402
from fixtures.template_corpus import large_template  # noqa: E402
from quantlint.facts.template_patterns import MAX_PARSE_TAGS  # noqa: E402
from quantlint.templates.analysis import analyse_template  # noqa: E402
from quantlint.templates.parse import parse_template  # noqa: E402

MB = 1_000_000
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def shapes() -> dict[str, str]:
    prose = ("The assistant answers questions about the weather, politely and briefly. " * 20000)[:MB]
    per_copy = CHATML.count("{{") + CHATML.count("{%")
    return {
        "realistic (Llama 3)": T.LLAMA3,
        "realistic (DeepSeek R1)": T.DEEPSEEK_R1,
        "literal-data 1 MB": CHATML + prose,
        "literal-const 1 MB": "{{ '" + "A" * MB + "' }}" + CHATML,
        "dense 1 MB (text scan)": CHATML * (MB // len(CHATML)),
        "budget-edge": CHATML * (MAX_PARSE_TAGS // per_copy),
        "attack-corpus 1 MB": large_template(MB, max_tags=MAX_PARSE_TAGS),
    }


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        analyse_template.cache_clear()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def flow_pass(source: str):
    """The data-flow analysis alone, on a tree built once."""
    from quantlint.templates.analysis import _tree
    from quantlint.templates.flow import analyse_flow
    from quantlint.templates.gated import gated_texts

    tree = _tree(parse_template(source).ast)
    return lambda: gated_texts(analyse_flow(tree.flat, tree.folder), tree.excluded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    parse_template("{{ warm_up }}")  # import jinja2 and build the environment once
    print(f"{'shape':28} {'chars':>10} {'tags':>7} {'parse ms':>9} {'flow ms':>8} {'analyse ms':>11}  findings")
    for name, source in shapes().items():
        tags = source.count("{{") + source.count("{%")
        analysis = analyse_template(source)
        parse = "-" if not analysis.parsed and analysis.syntax is None else f"{median_ms(lambda: parse_template(source), args.runs):9.1f}"
        flow = "-" if not analysis.parsed else f"{median_ms(flow_pass(source), args.runs):8.1f}"
        whole = median_ms(lambda: analyse_template(source), args.runs)
        kinds = sorted({i.kind for i in analysis.suspicious + analysis.code_execution})
        print(f"{name:28} {len(source):>10,} {tags:>7,} {parse:>9} {flow:>8} {whole:>11.1f}  {', '.join(kinds) or '-'}")


if __name__ == "__main__":
    main()

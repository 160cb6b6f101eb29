"""quantlint: a static analyzer for quantized LLM files.

It reads headers, configs and model cards (never the weights) and reports each risk as a
finding with a rule code, a reason and a fix.
"""

__version__ = "0.1.0"

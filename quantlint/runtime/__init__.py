"""How a model is run: memory estimates, launch commands, and the best quant for a budget.

- `memory`: a pure estimate of llama.cpp's buffers (weights, repack, KV, compute, output) from a Model and a
  RuntimePlan; checks (QL202), `inspect` and `pick` call it. No I/O.
- `launch`: reads a real llama-server / llama-cli command line, or an Ollama Modelfile and its
  environment variables, into a model path and a RuntimePlan.
- `pick`: ranks the GGUF quants of one model against a memory budget.
"""

"""quantlint's built-in checks: one module per rule, found by the engine's registry.

This folder ships inside the wheel as `quantlint.checks`. Each module declares CODE, NAME,
SEVERITY (and OPTIONS, ALWAYS_RUN when needed) and one `check(model, ctx)` generator, and
documents the rule in its docstring. Checks read the Model only: no I/O, no file formats.
"""

"""Minimal handlers for the cold-start baseline: boto3 only, the same AWS call, no Powertools.

Each module mirrors `functions/<name>/app.py`: the same event in, the same response shape out,
without the validation, logging and metrics the real handlers add. Separate modules, so a
baseline imports only what it needs (FilterInferences' needs no boto3), and plain `dict`
hints rather than `typing`, which a minimal handler has no use for at run time.
"""

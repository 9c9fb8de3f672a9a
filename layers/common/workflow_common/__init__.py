"""Code the three functions share: event shapes, image checks, inference checks, error names.

Deployed as the application's own Lambda layer (built by `sam build` from this folder and its
requirements.txt), so each function's package holds only its handler.
"""

"""A build's stages in order (run.py lists them), the context they share, one module per stage."""

"""Small helpers written once: redaction, CI output, shipped resources, signals, digests, HTTP, paths."""

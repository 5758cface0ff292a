"""Evaluations: retrieval (PolicyQA) now; answers, citations and redaction later."""

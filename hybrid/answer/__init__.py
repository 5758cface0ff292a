"""The answer path: route a question, pick evidence, compose, verify claims, cite, footnote."""

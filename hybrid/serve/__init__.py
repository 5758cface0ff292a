"""HTTP serving (FastAPI): chat, drafts, documents, health, metrics and the agents' page."""

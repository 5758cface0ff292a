"""hybrid: fine-tune for behaviour, retrieve for knowledge."""

__version__ = "0.1.0"

"""Behaviour layer: PII redaction, instruction data, LoRA fine-tuning."""

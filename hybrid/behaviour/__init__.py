"""Behaviour layer: instruction data, leak-free splits and LoRA fine-tuning."""

"""Model loading, the floor runtime and training stand on: base models, the embedded
conversion, adapter cards."""

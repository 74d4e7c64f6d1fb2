"""Trained models kept after a run (`--save-models`): checkpoint files, and text sampled from them."""

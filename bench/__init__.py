"""labsim's benchmark runner (``python bench/run.py``); see bench/README.md."""

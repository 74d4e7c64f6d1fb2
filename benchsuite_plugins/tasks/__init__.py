"""Built-in tasks. The modules here are light hook modules (each one a plugin, named after its module) and their
option checks; the data generators live in `data/` and are imported (with numpy) only when a task is built."""

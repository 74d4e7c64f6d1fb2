"""The package version, defined once: pyproject.toml reads it, as do `bench --version` and the plugin listing."""
__version__ = "0.1.0"

"""benchsuite's built-in plugins (installed as `benchsuite_plugins`), registered like any other plugin."""

"""Built-in cells. The modules here are light hook modules (each one a plugin, named after its module); the layers
they build live in `layers/` and are imported only when a run builds them, so `bench list` stays fast."""

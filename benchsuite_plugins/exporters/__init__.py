"""Built-in exporters. `trackers` is a light hook module (a plugin, named after its module); the exporters it
registers live in `stores.py`, imported with their tracker's library only when a run is exported."""

"""Where a run's events go as they happen: `run.py` hands them to the run folder's files first, then to the plugins'
sinks and the exporters the run asked for; `export.py` is what exporters share (rows as a tracker's child runs) and
the export of a finished run folder. Kept light: a plugin module imports `benchsuite.Exporter` at its top."""

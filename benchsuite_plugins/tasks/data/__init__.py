"""The built-in tasks' data generators: numpy arrays for each split."""

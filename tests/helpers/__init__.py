"""What the tests share, one of each: invoke `bench` and check its bad-input answer (cli), the test cell (cell),
find a run's folder (runs), build a random task (tasks), pin one thread (threads), rank-test p-values by hand
(ranks); fake installs (fakedist), loose plugin files of misbehaving cells (faulty_cells) and of hostile ones
(hardening_plugins), wrapper cells in the shapes PyPI layers come in (wrapped_cells), fixture runs and golden files
(fixture_files), fresh-interpreter start-ups (startup).

The fixtures built on these (`bench`, `one_thread`) live in tests/conftest.py.
"""

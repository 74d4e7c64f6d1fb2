"""Analysis of finished runs: aggregate scores over tasks and seeds with their uncertainty, and paper tables."""

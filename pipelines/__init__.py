"""The fracdet KFP pipeline: the DAG, and its compile and local-run entry points."""

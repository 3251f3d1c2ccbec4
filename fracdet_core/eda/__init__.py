"""EDA: statistics, class weights, data checks and drift from an ingest's label table, and a report.

The stage's entry is `run.run_eda`; its settings are `config.EdaConfig`.
"""

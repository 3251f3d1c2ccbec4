"""EDA: statistics, class weights, data checks and drift from an ingest's label table, and a report."""

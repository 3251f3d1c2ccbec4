"""MLflow, where the team already looks: the connection to a tracking server (`connection`), and a pipeline run logged
as one MLflow run (`run`, with what is logged from each stage in `figures`).

Nothing here is imported unless a tracking URI or an `mlflow://` registry is given, so fracdet
without MLflow neither needs nor imports it (`pip install fracdet[mlflow]` adds the client).
"""

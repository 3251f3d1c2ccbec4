"""The model registry: numbered, immutable versions with lineage, and a champion alias, on local paths or gs://.

Layout under a registry root, per model name (docs/registry.md):

    <root>/<name>/claims/<N>.json        who took version number N (create-only: the allocation);
                                         kept forever, marked abandoned when its registration died
    <root>/<name>/versions/<N>/          the version: complete once metadata.json is there
        metadata.json                    lineage: source, data, code, config, metrics, run
        metrics.json, blessing.json, evaluation_report.html
        model_card.md, model_card.html
        <N>/saved_model.pb, variables/   the SavedModel, in TF Serving's numbered version folder
    <root>/<name>/aliases/champion       JSON naming the champion version, with its history

The registry is one interface (`interface.Registry`) with two backends, which `backend.open_registry`
chooses by URI: this layout (`files`, the default) or an MLflow server's model registry
(`mlflow_registry`, `mlflow_publish`, `mlflow_champion`; `mlflow://HOST:PORT`, docs/mlflow.md).
Both take the same checked inputs (`inputs`). In this layout, the stage's entry is
`run.register_model_version`. The other modules: `versions` (list and get the complete versions), `layout`
(where each file lives, from checked `names`), `verify` (the evaluation and the copy are of the
model registered), `claims` (numbering, incomplete registrations and their cleaning), `aliases`
(champion, promote, rollback), `records` (reading the registry's JSON without trusting it),
`lineage` (the commit recorded), `refs`, `card`.

KServe's TensorFlow predictor (TF Serving) reads a model base path holding numbered version
folders, so a version's URI `<root>/<name>/versions/<N>` is a valid `storageUri` as it is.
"""

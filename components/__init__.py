"""KFP components: one per pipeline stage, each a thin typed door into `fracdet_core`.

Every component is a lightweight Python component on fracdet's own image
(`@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)`): the image carries kfp
and `fracdet_core`, nothing is installed at run time, and the same compiled YAML runs on a
cluster and through `kfp.local` (which runs the body in the current environment).

KFP ships a component's source into its task as text, so an input's default is a literal here,
not a name from `fracdet_core.defaults`; `tests/test_defaults.py` holds each equal to its source.
"""

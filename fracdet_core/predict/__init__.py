"""`fracdet predict`: a model (registry reference or URI) on PNG, JPEG or DICOM files and folders, local or gs://.

`run.predict` does the work, with the settings of `config`; `inputs` finds and decodes images,
`model` and `thresholds` resolve what runs and where the fracture call is made, `results` reads
each image's detections, `outputs` writes the JSON, pictures and tables.
"""

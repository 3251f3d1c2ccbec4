"""Out-of-scope images: what the model must learn to answer "not supported".

Radiographs of anatomy outside the five indicated body parts (`anatomy`, drawn through the tubes
renderer by `radiographs`) and images that are no radiograph: CT and MR slices (`section`,
`tomography`), ultrasound frames (`ultrasound`), photographs (`photo`) and documents or
screenshots (`document`). `kinds` names them; `encode` draws one and encodes it; `plan` places
them in a dataset.
"""

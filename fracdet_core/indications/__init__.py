"""Whether an image is within fracdet's indications: a radiograph of the elbow, finger, forearm, hand or shoulder.

fracdet was trained on radiographs of five body parts and its fracture call means nothing on
anything else: a chest radiograph, a CT slice, a photograph. Before an image gets a fracture call,
what it says about itself is read, in this order (docs/indications.md):

1. its DICOM tags, where it has them (`dicom_tags` reads them, `tag_verdict` interprets them):
   `Modality`, then `BodyPartExamined` and the series and study descriptions;
2. its pixels (`colour`, `content`): a colour image, or one with no radiograph-like content, is
   out whatever its tags say;
3. the model's in-scope score against the in-scope threshold chosen at evaluation, where the
   tags decided nothing and the model has one.

`verdict.decide` combines them into one `Indication` with a reason code from `reasons`.
`facts.ImageFacts` is what the decoder measures on the way (ingest's decode, which predict shares),
so each file is decoded once.
"""

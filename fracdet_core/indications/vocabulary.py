"""What DICOM's words mean for the indications: which modalities are radiographs, which body-part words name which part.

Modality codes are DICOM PS3.3's defined terms (C.7.3.1.1.1), current and retired. Radiographs
are CR and DX, RG (radiographic imaging, the film-screen term) and two codes some vendors write
though the standard has none: DR and XR. Every other defined term is not a radiograph of
fracdet's kind: cross-sectional (CT, MR, PT, NM), ultrasound, fluoroscopy and angiography (RF,
XA), dental and mammography (IO, PX, MG), photographs, documents, reports and secondary
captures (XC, DOC, SR, OT, SC). A code outside the list is reported as an invalid tag.

Body-part words are matched on the upper-case words of `BodyPartExamined` and the descriptions,
pairs first (so RADIAL HEAD is the elbow, not the head; C SPINE is a spine). WRIST is the hand
(fracdet's hand views hold the carpus and the distal radius and ulna), THUMB a finger. HUMERUS,
ARM, CLAVICLE, UPPER EXTREMITY and EXTREMITY name no one part: they decide nothing, and the
image decides.
"""

from __future__ import annotations

from typing import Final

RADIOGRAPH_MODALITIES: Final[frozenset[str]] = frozenset({"CR", "DX", "RG", "DR", "XR"})

NOT_RADIOGRAPH_MODALITIES: Final[frozenset[str]] = frozenset({
    "AR", "ASMT", "AU", "BDUS", "BI", "BMD", "CFM", "CP", "CS", "CT", "DD", "DF", "DG", "DM", "DMS", "DOC", "DS", "EC", "ECG",
    "EPS", "ES", "FA", "FID", "FS", "GM", "HC", "HD", "IO", "IOL", "IVOCT", "IVUS", "KER", "KO", "LEN", "LP", "LS", "M3D",
    "MA", "MG", "MR", "MS", "NM", "OAM", "OCT", "OP", "OPM", "OPR", "OPT", "OPTBSV", "OPTENF", "OPV", "OSS", "OT", "PLAN",
    "POS", "PR", "PT", "PX", "REG", "RESP", "RF", "RTDOSE", "RTIMAGE", "RTINTENT", "RTPLAN", "RTRAD", "RTRECORD",
    "RTSEGANN", "RTSTRUCT", "RWV", "SC", "SEG", "SM", "SMR", "SR", "SRF", "ST", "STAIN", "TEXTUREMAP", "TG", "US", "VA",
    "VF", "XA", "XAPROTOCOL", "XC",
})

# Secondary Capture image storage SOP classes: a screenshot or a scan, whatever it shows.
SECONDARY_CAPTURE_SOP_CLASSES: Final[frozenset[str]] = frozenset({
    "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.1", "1.2.840.10008.5.1.4.1.1.7.2",
    "1.2.840.10008.5.1.4.1.1.7.3", "1.2.840.10008.5.1.4.1.1.7.4",
})

# A word (or two words joined, e.g. "RADIALHEAD") -> the body part among the five it names.
INDICATED: Final[dict[str, str]] = {
    **dict.fromkeys(("ELBOW", "ELBOWS", "OLECRANON", "RADIALHEAD"), "ELBOW"),
    **dict.fromkeys(("FINGER", "FINGERS", "THUMB", "THUMBS"), "FINGER"),
    **dict.fromkeys(("FOREARM", "FOREARMS", "RADIUS", "ULNA", "RADIUSULNA", "ULNARHEAD"), "FOREARM"),
    **dict.fromkeys(("HAND", "HANDS", "WRIST", "WRISTS", "METACARPAL", "METACARPALS", "CARPAL", "CARPALS", "SCAPHOID",
                     "METACARPALHEAD"), "HAND"),
    **dict.fromkeys(("SHOULDER", "SHOULDERS", "SCAPULA", "GLENOID", "GLENOHUMERAL", "HUMERALHEAD"), "SHOULDER"),
}

# A word (or two joined) -> the anatomy outside the five it names.
NOT_INDICATED: Final[dict[str, str]] = {
    **dict.fromkeys(("CHEST", "THORAX", "LUNG", "LUNGS", "RIB", "RIBS", "STERNUM", "HEART", "CARDIAC", "BREAST", "BREASTS"),
                    "CHEST"),
    **dict.fromkeys(("ABDOMEN", "ABDOMINAL", "KIDNEY", "KIDNEYS", "LIVER", "PANCREAS", "KUB", "WHOLEBODY"), "ABDOMEN"),
    **dict.fromkeys(("PELVIS", "PELVIC", "HIP", "HIPS", "SACRUM", "COCCYX", "FEMUR", "FEMORALHEAD", "THIGH"), "PELVIS"),
    **dict.fromkeys(("KNEE", "KNEES", "PATELLA"), "KNEE"),
    **dict.fromkeys(("TIBIA", "FIBULA", "LEG", "LEGS", "LOWERLEG", "LOWERLIMB", "LOWEREXTREMITY"), "TIBIA_FIBULA"),
    **dict.fromkeys(("ANKLE", "ANKLES", "FOOT", "FEET", "TOE", "TOES", "HEEL", "CALCANEUS"), "ANKLE_FOOT"),
    **dict.fromkeys(("SKULL", "HEAD", "BRAIN", "FACE", "FACIAL", "SINUS", "SINUSES", "MANDIBLE", "JAW", "ORBIT", "ORBITS",
                     "NECK", "DENTAL", "TEETH", "TOOTH"), "SKULL"),
    **dict.fromkeys(("SPINE", "CSPINE", "TSPINE", "LSPINE", "SSPINE", "CERVICALSPINE", "THORACICSPINE", "LUMBARSPINE",
                     "LUMBAR", "VERTEBRA", "VERTEBRAE"), "SPINE"),
}

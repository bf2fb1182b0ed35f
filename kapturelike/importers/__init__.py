"""Dataset importers: raw public localization datasets -> kapture, as kapture's importers of the same
name do it (one module per dataset; ``common`` holds output preparation, record transfer, pose
conversion and the columnar builders), and ``download`` (kapture_download_dataset)."""

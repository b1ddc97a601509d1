"""FOV matching, alignment and misalignment statistics into manifests; see ../shared/DESIGN.md."""

"""Reference trainer with the CoBi loss over the manifests; see ../shared/DESIGN.md."""

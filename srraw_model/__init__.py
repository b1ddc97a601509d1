"""The researcher's stage: dataset over the manifests, network, CoBi loss, train / eval / zoom.

Reads only files (Parquet manifests, RAW and JPEG); never imports srraw_prep or srraw_capture.
torch is imported by the modules that need it, never by `srraw_model.cli` at import time.
"""

"""Tethered capture of zoom sequences on libgphoto2; see ../shared/DESIGN.md."""

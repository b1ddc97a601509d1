"""Synthetic SR-RAW-layout zoom sequences with known ground truth."""

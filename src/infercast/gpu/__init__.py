"""Measurement on a real device (PyTorch extra): calibration profiles and measured rows."""

"""Offline chest X-ray pneumonia classifier: the desktop app (Tkinter) and its headless engine.

Research and teaching tool. Not for clinical diagnosis.
"""

__version__ = "0.1.0"

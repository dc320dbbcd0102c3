"""PyInstaller hook: highdicom reads its DICOM standard tables (``_standard/*.json``: which
modules an IOD has, which attributes a module holds) and an ICC profile from files beside its
code when it builds an SR, so they ship with it (about 22 MB)."""

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("highdicom")

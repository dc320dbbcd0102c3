"""Reading files: from a path to a grey image, its model input and its facts, or one sentence
saying why not.

Holds ``sniff`` (what a file is, by its first bytes), ``files`` (scanning folders, what was
skipped and why), ``imaging`` (the one entry: ``read_image`` for every format, model input and
preview), ``pixels`` (the building blocks ``imaging`` and ``dicom`` share, so neither imports
the other), ``dicom`` with ``dicom_decoders`` (compressed pixel data) and ``dicom_facts`` (the
header's facts, never an exception), and ``identity`` (a file's content sha256, size
and resolved path: what makes it the same case).

May import: the foundation (``desktop/*.py``: errors, i18n, settings, ...) and itself. Never the
engine, the reports or the window (``tests/test_layers.py`` holds it). ``training`` reads its
images through this floor too.
"""

"""The network: the laptop as a DICOM node (issue 33).

Holds ``destination`` (an archive's AE title, host and port, as ``AET@HOST:PORT``), ``outbox``
(the durable queue of results waiting to be sent: SQLite beside the case history, one row per
SOP Instance UID, the file written before the first attempt), ``sender`` (C-ECHO and C-STORE
with pynetdicom, each outcome sorted into stored / try again later / refused for good, with one
sentence why), ``listener`` (the Storage SCP, off by default: an allow-list of calling AE
titles, image objects only, each file written atomically, then classified and recorded) and
``background`` (the one thread that keeps the outbox moving while the window is open).

May import: the foundation, ``reading``, ``engine``, ``cases`` and ``reports`` (the SR it sends
is written there). Never the window; the window and the command line import this floor.
"""

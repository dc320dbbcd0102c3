"""The cases floor: what the app remembers of each image classified (the history database), the
site calibration fitted on a clinic's confirmed cases, its profile file and the monitoring of it.
Above the engine, below the reports; no Tk.

Holds ``store`` (the history file: ``HistoryStore`` owns every SQL statement), ``recorder``,
``walcheck``, ``export``, ``calibration``, ``profile``, ``samples``, ``monitoring`` and
``teaching``; and what the Cases windows do below the window, so the window holds no SQL and
runs no model itself: ``history_service`` (Cases → History's typed requests served on one
thread: page, confirm, delete, export, check), ``calibration_job`` (Calibrate's fit, with the
engine handed to it) and ``teaching_session`` (Read first's images, reads and summary).
"""

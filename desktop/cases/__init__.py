"""The cases floor: what the app remembers of each image classified (the history database), the
site calibration fitted on a clinic's confirmed cases, its profile file and the monitoring of it.
Above the engine, below the reports; no Tk."""

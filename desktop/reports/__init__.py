"""What people read about results, outside any window: the words, the reports, the overlay.

Holds ``wording`` (the one function that words a result: verdict, probability, confidence,
scope; the table, the result pane, the PDF and ``predict`` all call it), ``labels``
(percentages, operating-point names, the disclaimer, the scope sentence), ``content`` (what a
PDF report says) and ``pdf`` (how it is laid out, written atomically), ``study_pdf`` (the
one-page calibration study), ``image_info`` (a file's facts, identifiers only when asked),
``overlay`` (the heatmap's colours and legend), ``card_text`` (the model card in words, as the
About box shows it) and ``dicom_sr`` (a result as a DICOM SR, the PDF report as Encapsulated
PDF). No Tk.

May import: the foundation, ``reading``, ``engine`` and ``cases`` (the reports name the site
profile in force). Never the network or the window; they and the command line import this floor.
"""

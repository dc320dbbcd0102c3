"""Cases → Calibrate for this site…: fit a site profile on the confirmed cases of the history or
on a labelled folder, see the study (cases, ROC with the shipped and proposed thresholds,
sensitivity and specificity with 95% intervals, reliability before and after, share flagged),
then save the profile (it is applied at once) and the one-page study PDF.

The fit runs on a thread of its own (a folder is classified by the window's loaded engine, which
serves several threads); the figures are the same ``Study`` the command line and the PDF use.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk

from desktop.cases.calibration import Study, calibrate
from desktop.cases.profile import interval_text, profile_from_study, save_profile
from desktop.cases.samples import classify_labelled, confirmed_samples_at, labelled_files
from desktop.engine.threshold import ThresholdPolicy, format_threshold
from desktop.errors import N_, UserError
from desktop.i18n import _, class_name, format_decimal
from desktop.reports.labels import file_name
from desktop.reports.study_pdf import T, save_study
from desktop.settings import save_settings
from desktop.ui.polled import Polled

log = logging.getLogger(__name__)

PLOT = 230


class CalibrationView(Polled, tk.Toplevel):
    def __init__(self, app, db_path: Path | None = None) -> None:
        self.open_over(app, N_("Calibrate for this site"), "900x640")
        self.db_path = db_path
        self.study: Study | None = None
        self._build()
        self.start_polling()
        self.protocol("WM_DELETE_WINDOW", self.close)

    def _build(self) -> None:
        t = self.texts
        top = ttk.Frame(self, padding=12)
        top.pack(fill="x")
        self.source = tk.StringVar(self, "history")
        t.widget(ttk.Label(top), N_("Labelled images")).grid(row=0, column=0, sticky="w")
        t.widget(ttk.Radiobutton(top, value="history", variable=self.source),
                 N_("Confirmed cases of the history")).grid(row=0, column=1, sticky="w")
        t.widget(ttk.Radiobutton(top, value="folder", variable=self.source),
                 N_("A labelled folder (NORMAL/, PNEUMONIA/)…")
                 ).grid(row=0, column=2, sticky="w", padx=(8, 0))
        self.folder: Path | None = None
        self.goal = tk.StringVar(self, "balanced")
        t.widget(ttk.Label(top), T["goal"]).grid(row=1, column=0, sticky="w", pady=(6, 0))
        t.widget(ttk.Radiobutton(top, value="balanced", variable=self.goal), T["balanced"]
                 ).grid(row=1, column=1, sticky="w", pady=(6, 0))
        goal = ttk.Frame(top)
        goal.grid(row=1, column=2, sticky="w", padx=(8, 0), pady=(6, 0))
        t.widget(ttk.Radiobutton(goal, value="sensitivity", variable=self.goal),
                 N_("Sensitivity at least")).pack(side="left")
        self.target = tk.StringVar(self, format_decimal(0.95, 2))
        ttk.Entry(goal, textvariable=self.target, width=6).pack(side="left", padx=4)
        t.widget(ttk.Label(top), N_("Profile name")).grid(row=2, column=0, sticky="w",
                                                          pady=(6, 0))
        self.name = tk.StringVar(self, "site")
        ttk.Entry(top, textvariable=self.name, width=30).grid(row=2, column=1, sticky="w",
                                                              pady=(6, 0))
        self.run_button = t.widget(ttk.Button(top, command=self.run), N_("Calibrate"))
        self.run_button.grid(row=2, column=2, sticky="e", pady=(6, 0))

        body = ttk.Frame(self, padding=(12, 0))
        body.pack(fill="both", expand=True)
        self.roc = tk.Canvas(body, width=PLOT + 40, height=PLOT + 40, background="white",
                             highlightthickness=0)
        self.roc.grid(row=0, column=0, padx=(0, 12))
        self.reliability = tk.Canvas(body, width=PLOT + 40, height=PLOT + 40,
                                     background="white", highlightthickness=0)
        self.reliability.grid(row=0, column=1)
        self.summary = ttk.Label(body, justify="left", wraplength=860)
        self.summary.grid(row=1, column=0, columnspan=2, sticky="w", pady=(8, 0))
        t.call(self.summary, self._draw_study)

        bottom = ttk.Frame(self, padding=12)
        bottom.pack(fill="x")
        self.save_button = t.widget(ttk.Button(bottom, command=self.ask_save, state="disabled"),
                                    N_("Save profile and apply it…"))
        self.save_button.pack(side="left")
        self.pdf_button = t.widget(ttk.Button(bottom, command=self.ask_pdf, state="disabled"),
                                   N_("Save study PDF…"))
        self.pdf_button.pack(side="left", padx=8)
        self.status = ttk.Label(bottom, text="")
        self.status.pack(side="right")

    # --- the fit, off the Tk thread -------------------------------------------------------

    def run(self) -> None:
        target = None
        if self.goal.get() == "sensitivity":
            try:
                target = float(self.target.get().strip().replace(",", "."))  # 0,95 too
                if not 0.0 < target < 1.0:
                    raise ValueError(target)
            except ValueError:
                self.say(self.status, lambda: _("Write the sensitivity as a number between 0 "
                                                "and 1, e.g. 0.95."))
                return
        engine = self.app.worker.engine if self.app.state.model_ready else None
        if engine is None:
            self.say(self.status, lambda: _("The model has not loaded yet."))
            return
        folder = None
        if self.source.get() == "folder":
            folder = filedialog.askdirectory(parent=self, title=_("Labelled images"))
            if not folder:
                return
            folder = Path(folder)
        self.run_button.configure(state="disabled")
        self.say(self.status, lambda: _("Calibrating…"))
        shipped = ThresholdPolicy.from_card(self.app.state.card).threshold
        threading.Thread(target=self._fit, args=(engine, folder, target, shipped),
                         name="cxr-calibrate", daemon=True).start()

    def _fit(self, engine, folder: Path | None, target: float | None, shipped: float) -> None:
        try:
            if folder is None:
                samples = confirmed_samples_at(self.db_path, engine.sha256)
            else:
                samples = classify_labelled(engine, labelled_files(folder))
            p_model, labels = samples.arrays()
            study = calibrate(p_model, labels, shipped_threshold=shipped,
                              target_sensitivity=target, n_out_of_scope=samples.out_of_scope)
            self.replies.put(("study", study, folder))
        except UserError as exc:
            self.replies.put(("error", exc, None))
        except (OSError, sqlite3.Error, ValueError):
            log.exception("Calibration failed")
            self.replies.put(("error", None, None))

    def handle(self, reply) -> None:
        kind, value, folder = reply
        self.run_button.configure(state="normal")
        if kind == "error":
            self.say(self.status, lambda: value.user_message() if value else _(
                "Something went wrong. The details are in the log file."))
        else:
            self.show(value, "folder" if folder else "history")

    # --- the study ------------------------------------------------------------------------

    def show(self, study: Study, source: str) -> None:
        self.study, self.source_kind = study, source
        self._draw_study()
        self.save_button.configure(state="normal")
        self.pdf_button.configure(state="normal")
        self.say(self.status, lambda: "")

    def _draw_study(self) -> None:
        """The plots and the figures of the study, in the current language (none yet: nothing)."""
        study = self.study
        if study is None:
            return
        self._draw_roc(study)
        self._draw_reliability(study)
        lines = [
            f"{_(T['confirmed']).format(name=class_name('NORMAL'))}: {study.n_normal}   "
            f"{_(T['confirmed']).format(name=class_name('PNEUMONIA'))}: {study.n_pneumonia}   "
            f"{_(T['excluded'])}: {study.n_out_of_scope}",
            f"{_(T['roc']).format(auc=format_decimal(study.auc, 3))}   "
            f"{_(T['before']).format(ece=format_decimal(study.ece_before, 3))}   "
            f"{_(T['after']).format(ece=format_decimal(study.ece_after, 3))}",
        ]
        for key, point in (("shipped", study.shipped), ("proposed", study.proposed)):
            lines.append(f"{_(T[key])} {format_threshold(point.threshold)}: "
                         f"{_(T['sens'])} {interval_text(point.sensitivity)}, "
                         f"{_(T['spec'])} {interval_text(point.specificity)}, "
                         f"{_(T['flagged'])} {interval_text(point.flagged)}")
        lines.append(_(T["note"]))
        self.summary.configure(text="\n".join(lines))

    def _frame(self, canvas: tk.Canvas, title: str) -> tuple[float, float]:
        canvas.delete("all")
        x0, y0 = 30, 10
        canvas.create_rectangle(x0, y0, x0 + PLOT, y0 + PLOT, outline="#C8C8C4")
        canvas.create_line(x0, y0 + PLOT, x0 + PLOT, y0, fill="#6B6B6B", dash=(2, 2))
        for i in range(6):
            canvas.create_text(x0 + PLOT * i / 5, y0 + PLOT + 10, text=format_decimal(i / 5, 1),
                               font=("TkDefaultFont", 7))
            canvas.create_text(x0 - 14, y0 + PLOT - PLOT * i / 5, text=format_decimal(i / 5, 1),
                               font=("TkDefaultFont", 7))
        canvas.create_text(x0 + PLOT / 2, y0 + PLOT + 24, text=title)
        return x0, y0

    def _draw_roc(self, study: Study) -> None:
        auc = format_decimal(study.auc, 3)
        x0, y0 = self._frame(self.roc, _("ROC curve (AUC {auc})").format(auc=auc))
        points = [c for fx, ty in study.roc for c in (x0 + fx * PLOT, y0 + PLOT - ty * PLOT)]
        self.roc.create_line(*points, fill="#0072B2", width=2)
        for point, colour in ((study.shipped, "#6B6B6B"), (study.proposed, "#D55E00")):
            x = x0 + (1 - point.specificity.value) * PLOT
            y = y0 + PLOT - point.sensitivity.value * PLOT
            self.roc.create_oval(x - 5, y - 5, x + 5, y + 5, fill=colour, outline="")

    def _draw_reliability(self, study: Study) -> None:
        x0, y0 = self._frame(self.reliability, _("Share with pneumonia"))
        for bins, colour in ((study.reliability_before, "#6B6B6B"),
                             (study.reliability_after, "#0072B2")):
            points = [(x0 + p * PLOT, y0 + PLOT - share * PLOT) for p, share, _n in bins]
            if len(points) > 1:
                self.reliability.create_line(*[c for pt in points for c in pt], fill=colour)
            for x, y in points:
                self.reliability.create_oval(x - 3, y - 3, x + 3, y + 3, fill=colour,
                                             outline="")

    # --- saving ---------------------------------------------------------------------------

    def ask_save(self) -> None:
        if self.study is None:
            return
        path = filedialog.asksaveasfilename(parent=self, title=_("Save profile and apply it…"),
                                            defaultextension=".json",
                                            initialfile=f"{self.name.get() or 'site'}.json",
                                            filetypes=[("JSON", "*.json")])
        if path:
            self.save_profile(Path(path))

    def save_profile(self, path: Path) -> bool:
        """Write the profile, make it the one in force and apply it to the window."""
        engine = self.app.worker.engine
        try:
            save_profile(path, profile_from_study(
                self.study, name=self.name.get().strip() or "site", model_sha256=engine.sha256,
                model_version=(self.app.state.card or {}).get("model_version"),
                source=self.source_kind))
        except UserError as exc:
            self.say(self.status, exc.user_message)
            return False
        self.app.settings.site_profile = str(path.resolve())
        save_settings(self.app.settings)
        self.app.history.apply_profile(path)
        self.say(self.status, lambda: _("Saved; the profile is now in force."))
        return True

    def ask_pdf(self) -> None:
        if self.study is None:
            return
        path = filedialog.asksaveasfilename(parent=self, title=_("Save study PDF…"),
                                            defaultextension=".pdf",
                                            initialfile=file_name("study", ".pdf"),
                                            filetypes=[("PDF", "*.pdf")])
        if path:
            try:
                save_study(Path(path), self.study, profile_name=self.name.get().strip() or "site",
                           model_sha256=self.app.state.model_sha256)
                self.say(self.status, lambda: _("Saved {name}.").format(name=Path(path).name))
            except UserError as exc:
                self.say(self.status, exc.user_message)

    def close(self) -> None:
        self.stop_polling()
        self.destroy()

"""Cases → Calibrate for this site…: fit a site profile on the confirmed cases of the history or
on a labelled folder, see the study (cases, ROC with the shipped and proposed thresholds,
sensitivity and specificity with 95% intervals, reliability before and after, share flagged),
then save the profile (it is applied at once) and the one-page study PDF.

The fit is a ``desktop.cases.calibration_job.CalibrationJob`` on a thread of its own (a folder
is classified by the window's loaded engine, handed to it); the figures are the same ``Study``
the command line and the PDF use.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk

from desktop.cases.calibration import Study
from desktop.cases.calibration_job import CalibrationJob, Fitted
from desktop.cases.profile import default_name, interval_text, profile_from_study, save_profile
from desktop.engine.threshold import ThresholdPolicy, format_threshold
from desktop.errors import N_, Sentence, UserError
from desktop.i18n import _, class_name, format_decimal
from desktop.reports.labels import file_name
from desktop.reports.study_pdf import T, save_study
from desktop.ui.flow import Flow
from desktop.ui.polled import Polled
from desktop.ui.scrolled import Scrolled
from desktop.ui.style import screen_room

PLOT, SHORT_PLOT = 210, 180  # each square plot's side (on a short screen)
LEFT, TOP = 46, 24  # room for the y label and ticks, and for the title
HINT = N_("Choose the labelled images and the goal, then Calibrate: the ROC curve, the "
          "reliability plot and the study's figures appear here.")


def _wrapping(label: ttk.Label) -> None:
    """``label`` wraps at its own width, whatever the window's size and language."""
    label.bind("<Configure>", lambda e: label.configure(wraplength=max(e.width - 4, 100)))


class CalibrationView(Polled, tk.Toplevel):
    def __init__(self, context, db_path: Path | None = None) -> None:
        self.open_over(context, N_("Calibrate for this site"), (900, 640), (640, 460))
        self.db_path = db_path
        self.study: Study | None = None
        self._build()
        self.start_polling()
        self.protocol("WM_DELETE_WINDOW", self.close)

    def _build(self) -> None:
        t = self.texts
        top = ttk.Frame(self, padding=12)
        top.pack(fill="x")
        top.columnconfigure(1, weight=1)

        def row(number: int, label: str) -> Flow:
            """A label, then its choices in a row that wraps (pt/es were cut at 800 px)."""
            t.widget(ttk.Label(top), label).grid(row=number, column=0, sticky="nw",
                                                 pady=(6 if number else 0, 0), padx=(0, 8))
            choices = Flow(top)
            choices.grid(row=number, column=1, sticky="ew", pady=(6 if number else 0, 0))
            return choices

        self.source = tk.StringVar(self, "history")
        sources = row(0, N_("Labelled images"))
        sources.add(t.widget(ttk.Radiobutton(sources, value="history", variable=self.source),
                             N_("Confirmed cases of the history")))
        sources.add(t.widget(ttk.Radiobutton(sources, value="folder", variable=self.source),
                             N_("A labelled folder (NORMAL/, PNEUMONIA/)…")))
        self.folder: Path | None = None
        self.goal = tk.StringVar(self, "balanced")
        goals = row(1, T["goal"])
        goals.add(t.widget(ttk.Radiobutton(goals, value="balanced", variable=self.goal),
                           T["balanced"]))
        goal = ttk.Frame(goals)
        t.widget(ttk.Radiobutton(goal, value="sensitivity", variable=self.goal),
                 N_("Sensitivity at least")).pack(side="left")
        self.target = tk.StringVar(self, format_decimal(0.95, 2))
        ttk.Entry(goal, textvariable=self.target, width=6).pack(side="left", padx=4)
        goals.add(goal)
        names = row(2, N_("Profile name"))
        self.name = tk.StringVar(self, default_name())
        names.add(ttk.Entry(names, textvariable=self.name, width=30))
        self.run_button = names.add(t.widget(ttk.Button(names, command=self.run),
                                             N_("Calibrate")))

        # packed before the plots: a short screen shrinks the plots' room, not the buttons
        bottom = ttk.Frame(self, padding=12)
        bottom.pack(side="bottom", fill="x")
        self.save_button = t.widget(ttk.Button(bottom, command=self.ask_save, state="disabled"),
                                    N_("Save profile and apply it…"))
        self.save_button.grid(row=0, column=0, sticky="w")
        self.pdf_button = t.widget(ttk.Button(bottom, command=self.ask_pdf, state="disabled"),
                                   N_("Save study PDF…"))
        self.pdf_button.grid(row=0, column=1, sticky="w", padx=8)
        # a line of its own that wraps: a long message ("…add 29 more…") was cut at the edge
        self.status = ttk.Label(bottom, text="", justify="left")
        self.status.grid(row=1, column=0, columnspan=3, sticky="ew", pady=(6, 0))
        bottom.columnconfigure(2, weight=1)
        _wrapping(self.status)

        self.scroll = Scrolled(self, padding=(12, 0, 0, 0))
        self.scroll.pack(fill="both", expand=True)
        body = self.body = self.scroll.inner
        # before a run: what will appear here, not two blank boxes
        self.hint = t.widget(ttk.Label(body, justify="left", style="Small.TLabel"), HINT)
        self.hint.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(8, 0))
        _wrapping(self.hint)
        # a short screen (800x600) gets smaller plots, so the figures under them stay in view
        self.plot = PLOT if screen_room(self)[1] >= 640 else SHORT_PLOT
        canvas = (self.plot + LEFT + 14, self.plot + TOP + 40)
        self.roc = tk.Canvas(body, width=canvas[0], height=canvas[1], background="white",
                             highlightthickness=0)
        self.reliability = tk.Canvas(body, width=canvas[0], height=canvas[1],
                                     background="white", highlightthickness=0)
        self.summary = ttk.Label(body, justify="left")
        self.summary.grid(row=1, column=0, columnspan=2, sticky="ew", pady=(8, 0))
        _wrapping(self.summary)
        body.columnconfigure(1, weight=1)
        t.call(self.summary, self._draw_study)

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
        engine = self.context.engine() if self.context.model_ready else None
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
        shipped = ThresholdPolicy.from_card(self.context.card).threshold
        CalibrationJob(engine, self.db_path).start(self.replies.put, folder=folder,
                                                   target=target, shipped=shipped)

    def handle(self, reply) -> None:
        self.run_button.configure(state="normal")
        if isinstance(reply, Fitted):
            self.show(reply.study, "folder" if reply.folder else "history", reply.left_out)
        else:
            error = reply.error
            self.say(self.status, lambda: error.user_message() if error else _(
                "Something went wrong. The details are in the log file."))

    # --- the study ------------------------------------------------------------------------

    def show(self, study: Study, source: str, left_out: Sentence | None = None) -> None:
        """The study and what the labelled images left out (None: nothing)."""
        self.study, self.source_kind = study, source
        self.hint.grid_remove()
        self.roc.grid(row=0, column=0, padx=(0, 12), sticky="nw")
        self.reliability.grid(row=0, column=1, sticky="nw")
        self._draw_study()
        self.save_button.configure(state="normal")
        self.pdf_button.configure(state="normal")
        self.say(self.status, left_out.user_message if left_out is not None else lambda: "")

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

    def _frame(self, canvas: tk.Canvas, title: str, xlabel: str,
               ylabel: str) -> tuple[float, float]:
        """Axes with ticks; the title above, the x label under the x axis, the y label upright
        beside the y axis (it sat under the x axis)."""
        size = self.plot
        canvas.delete("all")
        x0, y0 = LEFT, TOP
        canvas.create_text(x0 + size / 2, 10, text=title, font="TkHeadingFont")
        canvas.create_rectangle(x0, y0, x0 + size, y0 + size, outline="#C8C8C4")
        canvas.create_line(x0, y0 + size, x0 + size, y0, fill="#6B6B6B", dash=(2, 2))
        for i in range(6):
            canvas.create_text(x0 + size * i / 5, y0 + size + 10, text=format_decimal(i / 5, 1),
                               font=("TkDefaultFont", 7))
            canvas.create_text(x0 - 12, y0 + size - size * i / 5, text=format_decimal(i / 5, 1),
                               font=("TkDefaultFont", 7))
        canvas.create_text(x0 + size / 2, y0 + size + 26, text=xlabel)
        canvas.create_text(10, y0 + size / 2, text=ylabel, angle=90)
        return x0, y0

    def _legend(self, canvas: tk.Canvas, entries: list[tuple[str, str, str]], x: float, y: float,
                ) -> None:
        """One entry under the other: its mark ("dot" or "line") in its colour, then its
        words, wrapped inside the plot (a long translation ran past the canvas) and moved up
        as far as they need to stay above the x axis."""
        size = self.plot
        right = LEFT + size - 4
        canvas.delete("legend")
        for mark, colour, text in entries:
            label = canvas.create_text(x + 14, y, text=text, anchor="nw", width=right - x - 14,
                                       font=("TkDefaultFont", 8), tags="legend")
            middle = y + 6
            if mark == "dot":
                canvas.create_oval(x, middle - 4, x + 8, middle + 4, fill=colour, outline="",
                                   tags="legend")
            else:
                canvas.create_line(x - 2, middle, x + 10, middle, fill=colour, width=2,
                                   tags="legend")
            y = canvas.bbox(label)[3] + 2
        overflow = canvas.bbox("legend")[3] - (TOP + size - 4)
        if overflow > 0:
            canvas.move("legend", 0, -overflow)

    def _draw_roc(self, study: Study) -> None:
        size = self.plot
        auc = format_decimal(study.auc, 3)
        x0, y0 = self._frame(self.roc, _("ROC curve (AUC {auc})").format(auc=auc),
                             _("1 - specificity"), _("Sensitivity"))
        points = [c for fx, ty in study.roc for c in (x0 + fx * size, y0 + size - ty * size)]
        self.roc.create_line(*points, fill="#0072B2", width=2)
        for point, colour in ((study.shipped, "#6B6B6B"), (study.proposed, "#D55E00")):
            x = x0 + (1 - point.specificity.value) * size
            y = y0 + size - point.sensitivity.value * size
            self.roc.create_oval(x - 5, y - 5, x + 5, y + 5, fill=colour, outline="")
        self._legend(self.roc, [  # the ROC curve leaves the lower right empty
            ("dot", "#6B6B6B", _(T["shipped"])), ("dot", "#D55E00", _(T["proposed"]))],
            x0 + size * 0.4, y0 + size - 30)

    def _draw_reliability(self, study: Study) -> None:
        size = self.plot
        x0, y0 = self._frame(self.reliability, _("Reliability"), _("P(pneumonia)"),
                             _("Share with pneumonia"))
        for bins, colour in ((study.reliability_before, "#6B6B6B"),
                             (study.reliability_after, "#0072B2")):
            points = [(x0 + p * size, y0 + size - share * size) for p, share, _n in bins]
            if len(points) > 1:
                self.reliability.create_line(*[c for pt in points for c in pt], fill=colour)
            for x, y in points:
                self.reliability.create_oval(x - 3, y - 3, x + 3, y + 3, fill=colour,
                                             outline="")
        self._legend(self.reliability, [  # a calibrated model leaves the upper left empty
            ("line", "#6B6B6B", _(T["before"]).format(ece=format_decimal(study.ece_before, 3))),
            ("line", "#0072B2", _(T["after"]).format(ece=format_decimal(study.ece_after, 3)))],
            x0 + 8, y0 + 6)

    # --- saving ---------------------------------------------------------------------------

    def _profile_name(self) -> str:
        return self.name.get().strip() or default_name()

    def ask_save(self) -> None:
        if self.study is None:
            return
        path = filedialog.asksaveasfilename(parent=self, initialdir=self.context.initial_dir(),
                                            title=_("Save profile and apply it…"),
                                            defaultextension=".json",
                                            initialfile=f"{self._profile_name()}.json",
                                            filetypes=[("JSON", "*.json")])
        if path:
            self.save_profile(Path(path))

    def save_profile(self, path: Path) -> bool:
        """Write the profile, make it the one in force and apply it to the window."""
        try:
            save_profile(path, profile_from_study(
                self.study, name=self._profile_name(), model_sha256=self.context.model_sha256,
                model_version=(self.context.card or {}).get("model_version"),
                source=self.source_kind))
        except UserError as exc:
            self.say(self.status, exc.user_message)
            return False
        self.context.remember(site_profile=str(path.resolve()))
        self.context.apply_profile(path)
        self.say(self.status, lambda: _("Saved; the profile is now in force."))
        return True

    def ask_pdf(self) -> None:
        if self.study is None:
            return
        path = filedialog.asksaveasfilename(parent=self, initialdir=self.context.initial_dir(),
                                            title=_("Save study PDF…"),
                                            defaultextension=".pdf",
                                            initialfile=file_name("study", ".pdf"),
                                            filetypes=[("PDF", "*.pdf")])
        if path:
            try:
                save_study(Path(path), self.study, profile_name=self._profile_name(),
                           model_sha256=self.context.model_sha256)
                self.say(self.status, lambda: _("Saved {name}.").format(name=Path(path).name))
            except UserError as exc:
                self.say(self.status, exc.user_message)

    def close(self) -> None:
        self.stop_polling()
        self.destroy()

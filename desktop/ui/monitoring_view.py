"""Cases → Monitoring…: per week (or per 50 cases) the share called PNEUMONIA, the share referred
to a human reader (where a refer band decided), the share out of scope and the agreement with
confirmed diagnoses, each with its 95% interval, and a warning on each period whose flagged share
left what the site's calibration saw, or whose referred share left what the refer band in force
referred when it was certified (``desktop.cases.monitoring``, the figures ``history stats``
prints). Computed on a thread of its own."""

from __future__ import annotations

import threading
import tkinter as tk
from pathlib import Path
from tkinter import ttk

from desktop.cases.monitoring import (
    REFERRAL_SHIFTED,
    SHIFTED,
    history_periods,
    referral_interval,
)
from desktop.cases.profile import interval_text
from desktop.errors import N_, class_phrase
from desktop.i18n import _, class_name
from desktop.modelfile import POSITIVE
from desktop.ui.polled import Polled
from desktop.ui.results_table import fit_columns
from desktop.ui.style import min_size

COLUMNS = ("period", "results", "flagged", "referred", "scope", "agreement")
HEADINGS = {"period": N_("Period"), "results": N_("Cases"),
            "flagged": N_("Called {pneumonia} (95% CI)"),
            "referred": N_("Referred (95% CI)"), "scope": N_("Out of scope (95% CI)"),
            "agreement": N_("Agreement with confirmed (95% CI)")}


class MonitoringView(Polled, tk.Toplevel):
    def __init__(self, context, db_path: Path | None = None) -> None:
        self.open_over(context, N_("Monitoring"), (900, 480), (600, 300))
        self.db_path = db_path
        profile = context.profile
        self.interval = profile.flagged_interval if profile is not None else None
        # what the band in force referred when certified: the referred share's yardstick
        self.referral = referral_interval(context.refer_band)
        self.found: list | None = None  # the periods shown, kept to show again after a switch
        self.by = tk.StringVar(self, "week")
        t = self.texts
        top = ttk.Frame(self, padding=10)
        top.pack(fill="x")
        for value, text in (("week", N_("Per week")), ("block", N_("Per 50 cases"))):
            t.widget(ttk.Radiobutton(top, value=value, variable=self.by, command=self.reload),
                     text).pack(side="left", padx=(0, 12))
        notes = ttk.Frame(top)  # what each share is compared with, one line each
        notes.pack(side="right")
        if self.interval:
            note = t.widget(ttk.Label(notes),
                            N_("Calibration saw {low}–{high} called {pneumonia}."),
                            pneumonia=class_phrase(POSITIVE), low=f"{100 * self.interval[0]:.0f}%",
                            high=f"{100 * self.interval[1]:.0f}%")
        elif self.referral:  # the referred share still has its yardstick: the card's band
            note = t.widget(ttk.Label(notes), N_("No site profile in force: the share called "
                                               "{pneumonia} has nothing to compare with."),
                            pneumonia=class_phrase(POSITIVE))
        else:
            note = t.widget(ttk.Label(notes),
                            N_("No site profile in force: nothing to compare with."))
        note.pack(anchor="e")
        if self.referral:
            t.widget(ttk.Label(notes),
                     N_("The refer band referred {low}–{high} when it was certified."),
                     low=f"{100 * self.referral[0]:.0f}%", high=f"{100 * self.referral[1]:.0f}%"
                     ).pack(anchor="e")
        self.tree = ttk.Treeview(self, columns=COLUMNS, show="headings")
        for column in COLUMNS:
            t.heading(self.tree, column, HEADINGS[column], pneumonia=class_phrase(POSITIVE))
            self.tree.column(column, anchor="e" if column == "results" else "w")
        self.tree.tag_configure("shifted", foreground="#A94800")
        self.tree.pack(fill="both", expand=True, padx=10)
        self.warning = ttk.Label(self, wraplength=860, justify="left", foreground="#A94800")
        self.warning.pack(fill="x", padx=10, pady=10)
        t.call(self.tree, self._show)
        self.start_polling()
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.reload()

    def reload(self) -> None:
        self.found = None
        self.tree.delete(*self.tree.get_children())
        self.say(self.warning, lambda: _("Loading…"))
        threading.Thread(target=self._compute, args=(self.by.get(),), daemon=True,
                         name="cxr-monitoring").start()

    def _compute(self, by: str) -> None:
        self.replies.put(history_periods(self.db_path, by=by,
                                         calibration_interval=self.interval,
                                         referral_interval=self.referral))

    def handle(self, found) -> None:
        if found is None:
            self.say(self.warning, lambda: _("Something went wrong. The details are in the log "
                                             "file."))
            return
        self.found = found
        self._show()

    def _show(self) -> None:
        """The periods found, and the warnings, in the current language; the columns as wide
        as their translated headings and cells."""
        self._fit()
        if self.found is None:
            return
        self.tree.delete(*self.tree.get_children())
        warnings = []
        for period in self.found:
            shifted = period.shifted or period.referral_shifted
            self.tree.insert("", "end", tags=("shifted",) if shifted else (), values=(
                ("⚠ " if shifted else "") + period.label, period.results,
                interval_text(period.flagged) if period.flagged.n else "—",
                interval_text(period.referred) if period.referred.n else "—",  # no band decided
                interval_text(period.out_of_scope),
                f"{interval_text(period.agreement)} (n={period.agreement.n})"
                if period.agreement.n else "—"))
            if period.shifted:
                warnings.append(_(SHIFTED).format(
                    pneumonia=class_name(POSITIVE), share=f"{100 * period.flagged.value:.0f}%",
                    low=f"{100 * self.interval[0]:.0f}%", high=f"{100 * self.interval[1]:.0f}%",
                    period=period.label))
            if period.referral_shifted:
                warnings.append(_(REFERRAL_SHIFTED).format(
                    share=f"{100 * period.referred.value:.0f}%",
                    low=f"{100 * self.referral[0]:.0f}%", high=f"{100 * self.referral[1]:.0f}%",
                    period=period.label))
        self.say(self.warning, lambda: "\n".join(warnings[-3:]))
        self._fit()

    def _fit(self) -> None:
        """Columns fitted to their text; the window at least as wide as they are (up to the
        screen), so the last one is not cut."""
        width, height = min_size(self, (fit_columns(self.tree) + 24, 300))
        self.minsize(width, height)
        self.update_idletasks()
        if self.winfo_width() < width:
            self.geometry(f"{width}x{max(self.winfo_height(), height)}")

    def close(self) -> None:
        self.stop_polling()
        self.destroy()

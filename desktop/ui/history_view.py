"""Cases → History: the case history in a window of its own.

Filter by date, verdict, scope, confirmed or not and agreement; search by file name; open a
case (the file again if it is still there and unchanged, else the stored record and why); set
the confirmed diagnosis of one row or a selection; export CSV; delete the selected cases or all
that the filters select (after a confirmation; files are never touched). Every query and write
is a typed request to ``desktop.cases.history_service`` (one thread, its own connection), and
rows arrive in pages (``history_service.PAGE``), so the window never waits for the database.
"""

from __future__ import annotations

import logging
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, messagebox, simpledialog, ttk

from desktop.cases.history_service import (
    WRITES,
    BeginAnew,
    Confirm,
    Delete,
    DeleteMatching,
    Export,
    Failed,
    HistoryService,
    Notice,
    Page,
    Request,
    Rows,
    Unavailable,
)
from desktop.cases.store import DIAGNOSES, Filters, HistoryRow, local_days, local_time
from desktop.engine.scope import IN_SCOPE, NOT_CHEST_XRAY, UNUSUAL
from desktop.engine.threshold import format_threshold
from desktop.errors import N_, NP_
from desktop.i18n import _, ngettext
from desktop.reading.identity import file_sha256
from desktop.reports.labels import file_name
from desktop.reports.wording import SHORT_WORDS, VERDICT_MARKS, verdict_label
from desktop.ui.flow import Flow
from desktop.ui.polled import Polled
from desktop.ui.state import folder_of
from desktop.ui.texts import Texts

log = logging.getLogger(__name__)

COLUMNS = ("created", "file", "verdict", "p", "scope", "confirmed", "agreement", "profile")
HEADINGS = {"created": N_("Date"), "file": N_("File"), "verdict": N_("Verdict"),
            "p": N_("P(pneumonia)"), "scope": N_("Scope"), "confirmed": N_("Confirmed"),
            "agreement": N_("Agreement"), "profile": N_("Profile")}
ANY = N_("Any")
VERDICTS = [("", ANY), ("PNEUMONIA", N_("PNEUMONIA")), ("NORMAL", N_("NORMAL")),
            ("REFER", N_("Referred")), ("none", N_("No verdict"))]
SCOPES = [("", ANY), (IN_SCOPE, N_("In scope")), (UNUSUAL, N_("Unusual")),
          (NOT_CHEST_XRAY, N_("Not a chest X-ray"))]
CONFIRMED = [("", ANY), ("yes", N_("Confirmed")), ("no", N_("Not confirmed"))]
AGREEMENT = [("", ANY), ("agree", N_("Agrees")), ("disagree", N_("Disagrees"))]
DIAGNOSIS_LABELS = {"NORMAL": N_("NORMAL"), "PNEUMONIA": N_("PNEUMONIA"),
                    "OTHER": N_("Other finding"), "UNKNOWN": N_("Unknown")}
SHOWING = N_("{shown} of {total} results")
BAD_DATE = N_("Write dates as YYYY-MM-DD.")
NOT_STATED = "not stated"  # stored as is when the person ticks "Not stated"
SELECTED = NP_("Confirmed diagnosis of {count} selected case:",
               "Confirmed diagnosis of {count} selected cases:")
OVERWRITE = NP_("{count} of the selected cases already has a confirmed diagnosis. Replace it?",
                "{count} of the selected cases already have a confirmed diagnosis. Replace "
                "them?")
DATE_HINT = N_("Dates: YYYY-MM-DD, e.g. 2026-12-04; either may stay empty.")
CHANGED = N_("The file has changed since it was classified.")
MOVED = N_("The file is no longer where it was classified.")
BUTTONS = (N_("Open case"), N_("Set confirmed diagnosis…"), N_("Export CSV…"),
           N_("Delete selected…"), N_("Delete all shown…"))


class HistoryView(Polled, tk.Toplevel):
    def __init__(self, context, db_path: Path | None = None) -> None:
        self.open_over(context, N_("Case history"), (1240, 620), (640, 420))
        self.rows: dict[str, HistoryRow] = {}
        self.total = 0
        self.filters = Filters()
        self._generation = 0  # a newer query makes the pages of older ones stale
        self._debounce: str | None = None
        self._loading = False
        self._build()
        self.start_polling()
        self.service = HistoryService(db_path, self.replies.put).start()
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.reload()

    # --- layout ---------------------------------------------------------------------------

    def _pair(self, label: str, field_of) -> tk.Misc:
        """A filter's label and its field side by side, one item of the filter row."""
        pair = ttk.Frame(self.filter_row)
        self.texts.widget(ttk.Label(pair), label).pack(side="left", padx=(0, 4))
        field_of(pair).pack(side="left", padx=(0, 4))
        return self.filter_row.add(pair)

    def _date(self, label: str) -> tk.StringVar:
        var = tk.StringVar(self)
        self._pair(label, lambda pair: ttk.Entry(pair, textvariable=var, width=11))
        return var

    def _choice(self, label: str, options) -> tk.StringVar:
        """A filter: the combobox shows the options' words, ``var`` holds the chosen code."""
        t = self.texts
        var = tk.StringVar(self, "")

        def box_in(pair) -> ttk.Combobox:
            box = ttk.Combobox(pair, state="readonly", width=16)
            t.choices(box, [text for _value, text in options])
            box.current(0)
            self.boxes[label] = box

            def chosen(_event=None) -> None:
                var.set(options[box.current()][0])
                self.reload()

            box.bind("<<ComboboxSelected>>", chosen)
            return box

        self._pair(label, box_in)
        return var

    def _build(self) -> None:
        t = self.texts
        self.boxes: dict[str, ttk.Combobox] = {}
        self.filter_row = Flow(self)
        self.filter_row.pack(fill="x", padx=10, pady=8)
        self.since = self._date(N_("From"))
        self.until = self._date(N_("to"))
        self.verdict = self._choice(N_("Verdict"), VERDICTS)
        self.scope = self._choice(N_("Scope"), SCOPES)
        self.confirmed = self._choice(N_("Confirmed"), CONFIRMED)
        self.agreement = self._choice(N_("Agreement"), AGREEMENT)
        self.search = tk.StringVar(self)
        self._pair(N_("File name"),
                   lambda pair: ttk.Entry(pair, textvariable=self.search, width=24))
        # how to write a date, shown before a wrong one is typed, not only after
        self.date_hint = t.widget(ttk.Label(self, style="Small.TLabel", padding=(10, 0)),
                                  DATE_HINT)
        self.date_hint.pack(fill="x")
        for var in (self.since, self.until, self.search):
            var.trace_add("write", lambda *_a: self._soon())

        # packed before the table: a short screen shrinks the table, not the buttons
        self.status = ttk.Label(self, padding=(10, 0, 10, 8), anchor="w")
        self.status.pack(side="bottom", fill="x")
        self.status.bind("<Configure>", lambda e: self.status.configure(
            wraplength=max(e.width - 20, 100)))
        self.say(self.status, lambda: _("Loading…"))
        buttons = Flow(self)
        buttons.pack(side="bottom", fill="x", padx=10, pady=(0, 6))
        self.buttons: dict[str, ttk.Button] = {}
        for text, command in zip(BUTTONS, (self.open_case, self.ask_confirm, self.ask_export,
                                           self.ask_delete_selected, self.ask_delete_matching),
                                 strict=True):
            self.buttons[text] = buttons.add(t.widget(ttk.Button(buttons, command=command),
                                                      text))

        body = ttk.Frame(self, padding=(10, 8))
        body.pack(fill="both", expand=True)
        self.tree = ttk.Treeview(body, columns=COLUMNS, show="headings", selectmode="extended")
        widths = {"created": 150, "file": 240, "verdict": 120, "p": 125, "scope": 160,
                  "confirmed": 120, "agreement": 130, "profile": 85}
        for column in COLUMNS:
            t.heading(self.tree, column, HEADINGS[column])
            self.tree.column(column, width=widths[column], stretch=column == "file",
                             anchor="e" if column == "p" else "w")
        scroll = ttk.Scrollbar(body, orient="vertical", command=self.tree.yview)
        # the last columns stay reachable on a narrow screen
        self.xscroll = ttk.Scrollbar(body, orient="horizontal", command=self.tree.xview)
        self.tree.configure(yscrollcommand=lambda a, b: (scroll.set(a, b), self._near_end(b)),
                            xscrollcommand=self.xscroll.set)
        self.tree.grid(row=0, column=0, sticky="nsew")
        scroll.grid(row=0, column=1, sticky="ns")
        self.xscroll.grid(row=1, column=0, sticky="ew")
        body.rowconfigure(0, weight=1)
        body.columnconfigure(0, weight=1)
        self.tree.bind("<Double-1>", lambda _e: self.open_case())
        t.call(self.tree, self._relabel_rows)

    # --- the history's answers -----------------------------------------------------------

    def _ask(self, request: Request) -> None:
        self.service.ask(request, self._generation)

    def handle(self, reply) -> None:
        if isinstance(reply, Unavailable):
            self.say(self.status, lambda: _("The case history could not be opened; check that "
                                            "its folder can be read and written. The details "
                                            "are in the log file."))
        elif isinstance(reply, Notice):
            messagebox.showwarning(_("Case history"), reply.sentence.user_message(), parent=self)
        elif isinstance(reply, Failed):
            error = reply.error
            self.say(self.status, lambda: error.user_message() if error is not None
                     else _("Something went wrong. The details are in the log file."))
        elif isinstance(reply.request, Page):
            if reply.generation == self._generation:
                self._show_page(reply.value)
        elif isinstance(reply.request, BeginAnew):
            if reply.value is not None:
                messagebox.showwarning(_("Case history"), reply.value.user_message(),
                                       parent=self)
            self.reload()
        elif isinstance(reply.request, Export):
            count, path = reply.value.count, reply.value.path
            self.say(self.status, lambda: _("Saved {count} results to {name} in {folder}.").format(
                count=count, name=Path(path).name, folder=folder_of(Path(path))))
        elif isinstance(reply.request, WRITES):  # show the rows again
            self.reload()

    # --- filters and pages ----------------------------------------------------------------

    def _soon(self) -> None:
        """Typing in a field: query once it pauses (250 ms), not on every key."""
        if self._debounce is not None:
            self.after_cancel(self._debounce)
        self._debounce = self.after(250, self.reload)

    def current_filters(self) -> Filters | None:
        """The filters as chosen; "From" and "to" are days on this computer's calendar, both
        included."""
        try:
            since, until = local_days(self.since.get().strip(), self.until.get().strip())
        except ValueError:
            self.say(self.status, lambda: _(BAD_DATE))
            return None
        confirmed = {"yes": True, "no": False}.get(self.confirmed.get())
        return Filters(since=since, until=until,
                       verdict=self.verdict.get() or None, scope=self.scope.get() or None,
                       confirmed=confirmed, agreement=self.agreement.get() or None,
                       search=self.search.get().strip())

    def reload(self) -> None:
        self._debounce = None
        filters = self.current_filters()
        if filters is None:
            return
        self.filters = filters
        self._generation += 1
        self.tree.delete(*self.tree.get_children())
        self.rows.clear()
        self._loading = True
        self.say(self.status, lambda: _("Loading…"))
        self._ask(Page(filters))

    def _near_end(self, last: str) -> None:
        """The scroll bar's end reached the bottom third: fetch the next page."""
        if float(last) > 0.66 and not self._loading and len(self.rows) < self.total:
            self._loading = True
            self._ask(Page(self.filters, len(self.rows)))

    def _show_page(self, page: Rows) -> None:
        if page.total is not None:
            self.total = page.total
        for row in page.rows:
            iid = str(row.result_id)
            if iid not in self.rows:
                self.rows[iid] = row
                self.tree.insert("", "end", iid=iid, values=self._values(row))
        self._loading = False
        self.say(self.status, lambda: _(SHOWING).format(shown=len(self.rows), total=self.total))

    def _relabel_rows(self) -> None:
        """The rows' words (verdict, scope, confirmed, agreement) in the current language."""
        for iid, row in self.rows.items():
            self.tree.item(iid, values=self._values(row))

    @staticmethod
    def _values(row: HistoryRow) -> tuple:
        scope = dict(SCOPES).get(row.scope or "", "")
        agreement = {True: _("Agrees"), False: _("Disagrees"), None: ""}[row.agreement]
        confirmed = _(DIAGNOSIS_LABELS[row.confirmed]) if row.confirmed else ""
        return (local_time(row.created), row.file_name, _verdict_text(row),
                row.p_text(3, for_people=True), _(scope) if scope else "", confirmed, agreement,
                row.profile)

    def selected_rows(self) -> list[HistoryRow]:
        return [self.rows[i] for i in self.tree.selection() if i in self.rows]

    # --- actions --------------------------------------------------------------------------

    def open_case(self) -> None:
        """The file again in the main window if it is there and unchanged; else the record."""
        rows = self.selected_rows()
        if not rows:
            return
        row = rows[0]
        path = Path(row.path)
        try:
            if file_sha256(path) == row.sha256:
                self.context.show_file(path)
                return
            why = CHANGED
        except OSError:
            why = MOVED
        self.say(self.status, lambda: _(why))  # stays in the window once the box is closed
        messagebox.showinfo(_("Stored record"), self.record_text(row, why), parent=self)

    def record_text(self, row: HistoryRow, why: str) -> str:
        """What the history keeps of ``row``, after the reason (a msgid) the file is not shown."""
        values = self._values(row)
        return "\n".join([
            _(why), "", f"{_('File')}: {row.path}", f"{_('Date')}: {values[0]}",
            f"{_('Verdict')}: {values[2]}", f"P(pneumonia): {values[3] or '-'}",
            *_band_lines(row), f"{_('Confirmed')}: {values[5] or '—'}"])

    def ask_confirm(self) -> None:
        rows = self.selected_rows()
        if not rows:
            self.say(self.status, lambda: _("Select one or more rows first."))
            return
        cases = {r.case_id: r for r in rows}
        dialog = ConfirmDialog(self, len(cases))
        self.wait_window(dialog)
        if dialog.answer is not None:
            self.confirm(list(cases.values()), *dialog.answer)

    def confirm(self, cases: list[HistoryRow], diagnosis: str, how: str, note: str) -> None:
        """Record the diagnosis of ``cases`` (one row each); asks first where one of them has
        a confirmed diagnosis already (several rows selected overwrote it without a word)."""
        already = sum(r.confirmed is not None for r in cases)
        if already and not messagebox.askyesno(
                _("Set confirmed diagnosis"), ngettext(*OVERWRITE, already).format(
                    count=already), parent=self):
            return
        if not self.context.settings.user_name:
            name = simpledialog.askstring(_("Your name"), _("Your name, recorded with each "
                                                          "diagnosis you confirm:"), parent=self)
            if not name:
                return
            self.context.remember(user_name=name.strip())
        self._ask(Confirm(tuple(sorted(r.case_id for r in cases)), diagnosis, how,
                          self.context.settings.user_name, note))

    def ask_export(self) -> None:
        path = filedialog.asksaveasfilename(parent=self, initialdir=self.context.initial_dir(),
                                            title=_("Export CSV…"),
                                            defaultextension=".csv",
                                            initialfile=file_name("history", ".csv"),
                                            filetypes=[("CSV", "*.csv")])
        if path:
            self._ask(Export(self.filters, Path(path)))

    def ask_delete_selected(self) -> None:
        ids = sorted({r.case_id for r in self.selected_rows()})
        if ids and messagebox.askyesno(
                _("Delete cases"), _("Forget {count} cases and their results? The image files "
                                     "are not touched.").format(count=len(ids)), parent=self):
            self._ask(Delete(tuple(ids)))

    def ask_delete_matching(self) -> None:
        if self.total and messagebox.askyesno(
                _("Delete cases"), _("Forget every case of the {count} results shown (all pages)? "
                                     "The image files are not touched.").format(count=self.total),
                parent=self):
            self._ask(DeleteMatching(self.filters))

    def close(self) -> None:
        self.service.stop()
        self.stop_polling()
        self.destroy()  # takes the language listener with it (Texts.follow_language)


def _verdict_text(row: HistoryRow) -> str:
    """A stored result's answer as the main window's table words it: "▲ PNEUMONIA",
    "◐ Refer" (inside the refer band: not "No verdict", it had a P and an answer), "⊘ No
    verdict" (withheld)."""
    outcome = row.outcome
    if outcome.is_verdict:
        return verdict_label(outcome)
    return f"{VERDICT_MARKS[outcome]} {_(SHORT_WORDS[outcome])}"


def _band_lines(row: HistoryRow) -> list[str]:
    """The refer band that decided ``row`` (none: its threshold did), for its stored record:
    a referred case's P is only read right beside the band it fell inside."""
    if row.t_low is None or row.t_high is None:
        return []
    return [f"{_('Refer band')}: {format_threshold(row.t_low)}–{format_threshold(row.t_high)}"]


class ConfirmDialog(tk.Toplevel):
    """The confirmed diagnosis for a selection, and how it was confirmed. Nothing is chosen at
    first (NORMAL was, also on a case called PNEUMONIA: one careless click recorded it), and
    Save waits for a diagnosis and for how it was confirmed, or "not stated" ticked: these
    labels feed the site's calibration and Monitoring."""

    def __init__(self, master: tk.Misc, count: int) -> None:
        super().__init__(master)
        t = self.texts = Texts()
        t.title(self, N_("Set confirmed diagnosis"))
        t.follow_language(self)
        self.transient(master)
        self.answer: tuple[str, str, str] | None = None
        frame = ttk.Frame(self, padding=12)
        frame.pack(fill="both", expand=True)
        heading = ttk.Label(frame)
        heading.pack(anchor="w")
        t.call(heading, lambda: heading.configure(text=ngettext(*SELECTED, count).format(
            count=count)))
        self.choice = tk.StringVar(self, "")
        for value in DIAGNOSES:
            t.widget(ttk.Radiobutton(frame, value=value, variable=self.choice),
                     DIAGNOSIS_LABELS[value]).pack(anchor="w")
        t.widget(ttk.Label(frame),
                 N_("How it was confirmed (e.g. radiologist, culture, follow-up):")
                 ).pack(anchor="w", pady=(8, 0))
        self.how = tk.StringVar(self)
        ttk.Entry(frame, textvariable=self.how, width=50).pack(anchor="w", fill="x")
        self.not_stated = tk.BooleanVar(self, False)
        t.widget(ttk.Checkbutton(frame, variable=self.not_stated), N_("Not stated")
                 ).pack(anchor="w")
        t.widget(ttk.Label(frame), N_("Note (optional):")).pack(anchor="w", pady=(8, 0))
        self.note = tk.StringVar(self)
        ttk.Entry(frame, textvariable=self.note, width=50).pack(anchor="w", fill="x")
        buttons = ttk.Frame(frame)
        buttons.pack(anchor="e", pady=(10, 0))
        t.widget(ttk.Button(buttons, command=self.destroy), N_("Cancel")).pack(side="right")
        self.save_button = t.widget(ttk.Button(buttons, command=self._save, state="disabled"),
                                    N_("Save"))
        self.save_button.pack(side="right", padx=8)
        for var in (self.choice, self.how, self.not_stated):
            var.trace_add("write", lambda *_a: self._enable())
        self.bind("<Return>", lambda _e: self._save())
        self.bind("<Escape>", lambda _e: self.destroy())

    def ready(self) -> bool:
        return bool(self.choice.get()) and (bool(self.how.get().strip())
                                            or self.not_stated.get())

    def _enable(self) -> None:
        self.save_button.configure(state="normal" if self.ready() else "disabled")

    def _save(self) -> None:
        if not self.ready():
            return
        how = self.how.get().strip() or NOT_STATED
        self.answer = (self.choice.get(), how, self.note.get().strip())
        self.destroy()

"""Cases → Read first (teaching)…: images one at a time with the model's verdict, P and heatmap
hidden until the reader records their own read; then the model's answer and the confirmed
diagnosis (from the labelled folder the image lies in, or the history) are shown. Each read is
kept in the case history; the summary (``desktop.cases.teaching``) compares reader, model and
confirmed diagnoses over every case read this way, and exports as CSV.

Images are classified, and reads kept, by a ``desktop.cases.teaching_session.TeachingSession``
(on a thread of its own, with the window's loaded engine handed to it); the picture, the reads
and the answers are on the Tk thread.
"""

from __future__ import annotations

import logging
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk

from PIL import ImageTk

from desktop.atomicio import atomic_write_text
from desktop.cases.profile import interval_text
from desktop.cases.teaching import LABELS, summary_csv_text
from desktop.cases.teaching_session import Shown, TeachingSession
from desktop.errors import N_, NP_, Sentence
from desktop.i18n import _, class_name, format_decimal, ngettext
from desktop.reading.files import scan
from desktop.reports.labels import file_name
from desktop.reports.overlay import blend_heatmap
from desktop.reports.wording import verdict_label
from desktop.ui.image_canvas import HEATMAP_CAPTION
from desktop.ui.polled import Polled
from desktop.ui.scrolled import Scrolled
from desktop.ui.style import screen_room

log = logging.getLogger(__name__)

SIDE, SHORT_SIDE = 320, 240  # the picture's longest side on screen (a short one)
ANSWER = N_("Model: {verdict}, P(pneumonia) = {p}. Confirmed: {confirmed}. Your read: {read}.")
SUMMARY = NP_("Over {reads} case read first: reader vs confirmed {reader}, model vs confirmed "
              "{model}, reader vs model {agree}.",
              "Over {reads} cases read first: reader vs confirmed {reader}, model vs confirmed "
              "{model}, reader vs model {agree}.")
REFERRED = N_("Referred by the model to a human reader: {referred}.")
REFERRED_COLUMN = N_("referred")  # the model's table: beside "called NORMAL", "called PNEUMONIA"


class TeachingView(Polled, tk.Toplevel):
    def __init__(self, context, db_path: Path | None = None) -> None:
        self.open_over(context, N_("Read first (teaching)"), (760, 680), (560, 480))
        self.files: list[Path] = []
        self.index = -1
        self.result = None
        self.sha256: str | None = None  # the shown image's content (its teaching read's key)
        self.read: str | None = None
        self.teaching = TeachingSession(context.card, context.site, db_path,
                                        notify=self._notify)
        self._build()
        self.start_polling()
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.show_summary()

    def _build(self) -> None:
        t = self.texts
        top = ttk.Frame(self, padding=10)
        top.pack(fill="x")
        t.widget(ttk.Button(top, command=self.ask_folder), N_("Open folder…")).pack(side="left")
        self.position = ttk.Label(top)
        self.position.pack(side="left", padx=12)
        self.say(self.position, lambda: _("Open a folder of images to read."))
        t.widget(ttk.Button(top, command=self.ask_export), N_("Export summary CSV…")).pack(
            side="right")
        # a short screen (800x600) gets a smaller picture, so the reads and the summary fit
        self.side = SIDE if screen_room(self)[1] >= 700 else SHORT_SIDE
        # the rest scrolls when the window is shorter than it (the summary fell off at 800x600)
        self.scroll = Scrolled(self)
        self.scroll.pack(fill="both", expand=True)
        body = self.scroll.inner
        self.canvas = tk.Canvas(body, width=self.side, height=self.side, background="#1E1E1E",
                                highlightthickness=0)
        self.canvas.pack(pady=(0, 8))
        # under the heatmap once it is shown, as in the main window
        self.caption = self.texts.widget(ttk.Label(
            body, style="Small.TLabel", wraplength=self.side + 200, justify="center"),
            HEATMAP_CAPTION)
        reads = ttk.Frame(body)
        reads.pack()
        t.widget(ttk.Label(reads), N_("Your read:")).pack(side="left", padx=(0, 8))
        self.read_buttons = []
        for label in LABELS:
            button = ttk.Button(reads, state="disabled",
                                command=lambda v=label: self.record_read(v))
            self.say(button, lambda v=label: verdict_label(v))
            button.pack(side="left", padx=4)
            self.read_buttons.append(button)
        self.next_button = t.widget(ttk.Button(reads, state="disabled", command=self.next_image),
                                    N_("Next image"))
        self.next_button.pack(side="left", padx=(16, 0))
        self.answer = ttk.Label(body, text="", wraplength=720, justify="left",
                                font="TkHeadingFont")
        self.answer.pack(fill="x", padx=10, pady=8)
        self.summary = ttk.Label(body, text="", wraplength=720, justify="left",
                                 font="TkFixedFont")
        self.summary.pack(fill="x", padx=10)

    # --- images ---------------------------------------------------------------------------

    def ask_folder(self) -> None:
        folder = filedialog.askdirectory(parent=self, title=_("Open folder…"))
        if folder:
            self.open_files(scan([folder]).files)

    def open_files(self, files: list[Path]) -> None:
        self.files, self.index = list(files), -1
        self.next_image()

    def next_image(self) -> None:
        self.index += 1
        self.result, self.read = None, None
        self.say(self.answer, lambda: "")
        self.next_button.configure(state="disabled")
        for button in self.read_buttons:
            button.configure(state="disabled")
        if self.index >= len(self.files):
            self.say(self.position, lambda: _("All images read."))
            self.canvas.delete("all")
            return
        n, total = self.index + 1, len(self.files)
        self.say(self.position, lambda: _("Image {n} of {total}").format(n=n, total=total))
        self.teaching.classify(self.context.engine(), self.files[self.index],
                               preview_size=self.side, post=self.replies.put)

    def handle(self, reply: Shown) -> None:
        result, self.sha256 = reply.result, reply.sha256
        self.canvas.delete("all")
        self.caption.pack_forget()
        if result is None or not result.ok or result.preview is None:
            self.say(self.answer, result.error.user_message
                     if result is not None and result.error
                     else lambda: _("Something went wrong. The details are in the log file."))
            self.next_button.configure(state="normal")
            return
        self.result = self.teaching.add(result)
        self._draw(result.preview)  # the heatmap, computed already, waits for the read
        for button in self.read_buttons:  # the answer stays hidden until the reader reads
            button.configure(state="normal")

    def _draw(self, picture) -> None:
        picture = picture.copy()
        picture.thumbnail((self.side, self.side))
        self._photo = ImageTk.PhotoImage(picture)
        self.canvas.delete("all")
        self.canvas.create_image(self.side // 2, self.side // 2, image=self._photo)

    # --- the read and the answer ----------------------------------------------------------

    def record_read(self, read: str) -> None:
        result = self.result
        if result is None or self.read is not None:
            return
        self.read = read
        for button in self.read_buttons:
            button.configure(state="disabled")
        answer = self.teaching.keep_read(result, self.sha256, read)  # apart from the clinic's
        verdict, confirmed = answer.verdict, answer.confirmed
        self.say(self.answer, lambda: _(ANSWER).format(
            verdict=verdict_label(verdict, mark=False) if verdict else _("No verdict"),
            p=format_decimal(result.p_pneumonia, 3),
            confirmed=_(confirmed) if confirmed else _("Unknown"), read=_(read)))
        if result.heatmap is not None:  # where the network looked, now that the read is in
            self._draw(blend_heatmap(result.preview, result.heatmap))
            self.caption.pack(after=self.canvas, pady=(0, 6))
        self.next_button.configure(state="normal")
        self.show_summary()

    def show_summary(self) -> None:
        summary = self.teaching.summary()
        if summary is None:
            return
        self.last_summary = summary
        self.say(self.summary, self._summary_text)

    def _summary_text(self) -> str:
        """The last summary in the current language: a sentence, then two small tables. Where
        a refer band is in force (or the model referred an image read), the share it referred
        and, in the model's table, a column of the referred cases by confirmed diagnosis."""
        s = self.last_summary
        referrals = s.referred.k > 0 or self.context.refer_band is not None
        lines = [ngettext(*SUMMARY, s.reads).format(
            reads=s.reads,
            reader=f"{interval_text(s.reader_vs_confirmed)} (n={s.reader_vs_confirmed.n})"
            if s.reader_vs_confirmed.n else "—",
            model=f"{interval_text(s.model_vs_confirmed)} (n={s.model_vs_confirmed.n})"
            if s.model_vs_confirmed.n else "—",
            agree=f"{interval_text(s.reader_vs_model)} (n={s.reader_vs_model.n})"
            if s.reader_vs_model.n else "—")]
        if referrals:
            lines.append(_(REFERRED).format(
                referred=f"{interval_text(s.referred)} (n={s.referred.n})"
                if s.referred.n else "—"))
        referred_table = s.referred_table or {}
        for title, table, referred in ((_("Reader"), s.reader_table, None),
                                       (_("Model"), s.model_table,
                                        referred_table if referrals else None)):
            lines.append("")
            called_normal, called_pneumonia = (_("called {name}").format(name=class_name(label))
                                               for label in LABELS)
            extra = f"{_(REFERRED_COLUMN):>14}" if referred is not None else ""
            lines.append(f"{title:<24}{called_normal:>16}{called_pneumonia:>18}{extra}")
            for confirmed in LABELS:
                name = _("confirmed {label}").format(label=class_name(confirmed))
                extra = f"{referred.get(confirmed, 0):>14}" if referred is not None else ""
                lines.append(f"{name:<24}{table[(confirmed, 'NORMAL')]:>16}"
                             f"{table[(confirmed, 'PNEUMONIA')]:>18}{extra}")
        return "\n".join(lines)

    def ask_export(self) -> None:
        path = filedialog.asksaveasfilename(parent=self, initialdir=self.context.initial_dir(),
                                            title=_("Export summary CSV…"),
                                            defaultextension=".csv",
                                            initialfile=file_name("reader_study", ".csv"),
                                            filetypes=[("CSV", "*.csv")])
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> bool:
        try:
            atomic_write_text(path, summary_csv_text(self.last_summary))
        except OSError:
            log.exception("Cannot write %s", path)
            self.say(self.answer, lambda: _("The file {name} could not be written. Choose "
                                            "another folder and try again.").format(
                                                name=path.name))
            return False
        return True

    def _notify(self, sentence: Sentence) -> None:
        self.say(self.answer, sentence.user_message)

    def close(self) -> None:
        self.stop_polling()
        self.teaching.close()
        self.destroy()

"""What the status line says after a round of the window's sending thread
(``desktop.ui.dicom_link.words``), in the language shown."""

from pathlib import Path

from desktop.errors import Sentence
from desktop.i18n import set_language
from desktop.network.background import Round
from desktop.network.sender import UNREACHABLE, Delivery
from desktop.reports.dicom_sr import NoStudy
from desktop.ui.dicom_link import words


def test_a_round_is_said_in_one_line_and_an_empty_one_says_nothing_waits():
    unreachable = Sentence(UNREACHABLE, aet="ARCHIVE", host="pacs", port=104)
    done = Round(Delivery(stored=["1"], waiting=["2", "3"], reasons=[unreachable]), asked=True,
                 no_study=[NoStudy(Path("a.png")), NoStudy(Path("b.png"))],
                 stored_to=["ARCHIVE@pacs:104"])
    set_language("en")
    assert words(done) == (
        "2 files are not DICOM images: they belong to no study, so no DICOM result is written "
        "for them. Send DICOM images from the X-ray machine or the archive. Results sent to "
        "ARCHIVE@pacs:104: 1. The archive ARCHIVE at pacs:104 could not be reached: check the "
        "host and port and that the archive is running. Results waiting in the outbox, sent "
        "again by themselves while the window is open (Cases → DICOM archive and outbox… lists "
        "them): 2.")
    assert words(Round(Delivery(), asked=True)) == (
        "Nothing to send: no result waits in the outbox.")
    set_language("pt_BR")
    try:
        assert words(Round(Delivery(), asked=True)) == (
            "Nada a enviar: nenhum resultado aguarda na caixa de saída.")
    finally:
        set_language("en")

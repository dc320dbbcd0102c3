"""The window's Storage SCP settings checked before anything is saved or opened
(``desktop.network.listen_config``): one sentence per bad value, a good form's config, and the
same check on a hand-edited settings file."""

import json
from pathlib import Path

import pytest

from desktop import i18n
from desktop.network.listen_config import (
    ListenConfig,
    default_folder,
    form_values,
    from_settings,
    parse,
)
from desktop.settings import Settings, load_settings, save_settings, settings_path

GOOD = {"aet": "CXRNODE", "port": "11112", "allowed": "XRAY1, XRAY2", "folder": "/srv/received"}


def said(problems) -> list[str]:
    return [problem.user_message() for problem in problems]


def test_a_good_form_makes_its_config_and_its_settings():
    config = parse(**{**GOOD, "allowed": " XRAY1 ,, XRAY2, XRAY1 "}, send_back=True)
    assert config == ListenConfig("CXRNODE", 11112, ("XRAY1", "XRAY2"), Path("/srv/received"),
                                  True)
    assert config.settings_values() == {
        "dicom_listen_aet": "CXRNODE", "dicom_listen_port": 11112,
        "dicom_listen_allowed": "XRAY1,XRAY2", "dicom_listen_folder": "/srv/received",
        "dicom_send_back": True}
    assert config.same_listener(parse(**GOOD, send_back=False))
    assert not config.same_listener(parse(**{**GOOD, "port": "11113"}))


@pytest.mark.parametrize(("field", "value", "sentence"), [
    ("aet", "", "Our AE title must be 1 to 16 letters, digits, spaces or signs, without a "
     "backslash: enter the title the X-ray machine is set to call."),
    ("aet", "A" * 17, "Our AE title must be"),
    ("aet", "BACK\\SLASH", "Our AE title must be"),
    ("port", "104", "The port must be a whole number from 1024 to 65535: enter the port the "
     "X-ray machine sends to."),
    ("port", "65536", "The port must be"),
    ("port", "11112.5", "The port must be"),
    ("port", "١١١١٢", "The port must be"),  # Arabic-Indic digits: not a port we may open
    ("port", "", "The port must be"),
    ("allowed", " , ", "No calling AE title is allowed: enter the X-ray machine's AE title "
     "(several separated by commas), or no image is accepted."),
    ("allowed", "XRAY1, TOO-LONG-FOR-AN-AE-TITLE", "\"TOO-LONG-FOR-AN-AE-TITLE\" is not an AE "
     "title (1 to 16 letters, digits, spaces or signs, no backslash): correct it in the "
     "allowed calling AE titles."),
    ("allowed", ",".join(f"X{i}" for i in range(65)), "More than 64 calling AE titles"),
    ("folder", "  ", "No folder is chosen for the received images: choose one with Browse…."),
    ("folder", "received", "\"received\" is not a full path to a folder: choose the folder for "
     "received images with Browse…."),
    ("folder", "/srv/a\0b", "is not a full path to a folder"),
])
def test_each_bad_value_is_refused_with_its_sentence(field, value, sentence):
    problems = parse(**{**GOOD, field: value})
    assert isinstance(problems, list) and len(problems) == 1
    assert said(problems)[0].startswith(sentence) or sentence in said(problems)[0]


def test_every_bad_value_is_said_at_once_in_the_language_shown():
    bad = {"aet": "", "port": "80", "allowed": "", "folder": "relative"}
    assert len(parse(**bad)) == 4
    i18n.set_language("es")
    try:
        assert said(parse(**{**GOOD, "port": "80"})) == [
            "El puerto debe ser un número entero de 1024 a 65535: introduzca el puerto al que "
            "envía el equipo de rayos X."]
    finally:
        i18n.set_language("en")


def test_the_form_starts_from_the_saved_values_or_the_defaults():
    assert form_values(Settings()) == {"aet": "CXRNODE", "port": "11112", "allowed": "",
                                       "folder": str(default_folder())}
    assert form_values(Settings(dicom_calling_aet="CLINIC7"))["aet"] == "CLINIC7"
    saved = Settings(dicom_listen=True, dicom_listen_aet="NODE", dicom_listen_port=4242,
                     dicom_listen_allowed="XRAY1,XRAY2", dicom_listen_folder="/srv/in",
                     dicom_send_back=True)
    assert save_settings(saved) and load_settings() == saved
    assert from_settings(load_settings()) == ListenConfig("NODE", 4242, ("XRAY1", "XRAY2"),
                                                          Path("/srv/in"), True)


def test_a_hand_edited_settings_file_is_checked_as_the_form_is():
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text(json.dumps({"dicom_listen": True, "dicom_listen_port": 80,
                                           "dicom_listen_allowed": "OK,NOT\\OK"}))
    settings = load_settings()
    assert settings.dicom_listen and settings.dicom_listen_port == 11112  # 80: the default
    assert said(from_settings(settings)) == [
        "\"NOT\\OK\" is not an AE title (1 to 16 letters, digits, spaces or signs, no "
        "backslash): correct it in the allowed calling AE titles."]
    for port in (True, "11112", 1023, 11112.0, None):
        settings_path().write_text(json.dumps({"dicom_listen_port": port}))
        assert load_settings().dicom_listen_port == 11112

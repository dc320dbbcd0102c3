"""Settings survive a restart; a corrupt or hand-edited file never stops the app."""

import json
import logging

import pytest

from desktop.settings import Settings, load_settings, save_settings, settings_path


def test_round_trip_in_the_config_folder(tmp_path):
    s = Settings(
        language="pt_BR",
        threshold=0.27,
        operating_point="high_sensitivity",
        last_folder=str(tmp_path / "Raios X ção"),
        window_geometry="1200x800+10+20",
        show_heatmap=True,
    )
    assert save_settings(s)
    assert settings_path().parent == tmp_path / "config"
    assert load_settings() == s


def test_missing_file_gives_defaults():
    assert load_settings() == Settings()


def test_corrupt_file_falls_back_to_defaults_with_a_log_line(caplog):
    settings_path().parent.mkdir(parents=True)
    settings_path().write_bytes(b'{"language": "es", "thresh')
    with caplog.at_level(logging.WARNING):
        assert load_settings() == Settings()
    assert "corrupt" in caplog.text


def test_binary_garbage_and_non_object_fall_back(caplog):
    settings_path().parent.mkdir(parents=True)
    for data in (b"\xff\xfe\x00garbage", b"[1, 2, 3]", b"null"):
        settings_path().write_bytes(data)
        assert load_settings() == Settings()


def test_invalid_fields_are_dropped_valid_ones_kept(caplog):
    settings_path().parent.mkdir(parents=True)
    raw = {"language": "klingon", "threshold": 7, "show_heatmap": "yes",
           "last_folder": "/data", "window_geometry": 12, "unknown": 1}
    settings_path().write_text(json.dumps(raw))
    with caplog.at_level(logging.WARNING):
        s = load_settings()
    assert s == Settings(last_folder="/data")
    assert "language" in caplog.text and "threshold" in caplog.text


def test_saving_replaces_atomically_and_leaves_no_temp_files():
    save_settings(Settings(threshold=0.1))
    save_settings(Settings(threshold=0.2))
    assert load_settings().threshold == 0.2
    assert [p.name for p in settings_path().parent.iterdir()] == ["settings.json"]


def test_unwritable_folder_does_not_raise(tmp_path, monkeypatch):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv("CXR_CONFIG_DIR", str(blocker / "sub"))
    assert save_settings(Settings()) is False


def test_the_viewer_and_privacy_settings_round_trip_and_identifiers_start_hidden(tmp_path):
    assert Settings().show_identifiers is False and Settings().heatmap_opacity == 0.6
    s = Settings(heatmap_opacity=0.35, show_image_info=True, show_identifiers=True)
    assert save_settings(s) and load_settings() == s
    settings_path().write_text(json.dumps({"heatmap_opacity": 3, "show_identifiers": "yes",
                                           "show_image_info": None}))
    assert load_settings() == Settings()


def test_the_archive_and_its_tls_files_round_trip_and_a_hand_edited_wrong_type_is_dropped():
    s = Settings(dicom_archive="PACS@10.1.2.3:104", dicom_calling_aet="CLINIC7",
                 dicom_tls_ca="/etc/cxr/ca.pem", dicom_tls_cert="/etc/cxr/me.pem",
                 dicom_tls_key="/etc/cxr/me.key")
    assert save_settings(s) and load_settings() == s
    settings_path().write_text(json.dumps({"dicom_archive": "PACS@10.1.2.3:104",
                                           "dicom_tls_ca": ["/etc/cxr/ca.pem"],
                                           "dicom_tls_cert": 7, "dicom_tls_key": None}))
    assert load_settings() == Settings(dicom_archive="PACS@10.1.2.3:104")


def test_the_picture_and_pdf_beside_each_sr_start_off_round_trip_and_a_wrong_value_is_dropped(
        caplog):
    assert (Settings().dicom_send_picture, Settings().dicom_send_pdf) == (False, False)
    s = Settings(dicom_auto_send=True, dicom_send_picture=True, dicom_send_pdf=True)
    assert save_settings(s) and load_settings() == s
    settings_path().write_text(json.dumps({"dicom_send_picture": "yes", "dicom_send_pdf": 1,
                                           "dicom_auto_send": True}))
    with caplog.at_level(logging.WARNING):
        assert load_settings() == Settings(dicom_auto_send=True)
    assert "dicom_send_picture" in caplog.text and "dicom_send_pdf" in caplog.text


# --- a corrupt file never stops the app ---------------------------------------------------------

@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to blow the JSON parser's stack
        b'{"threshold": NaN, "language": "xx"}',
        b'{"threshold": Infinity}',
        b'{"window_geometry": 12, "last_folder": ["a"], "show_heatmap": "yes"}',
        b"\xef\xbb\xbf{}",  # a byte-order mark from a Windows editor
        b"\x00" * 4096,
    ],
    ids=["deep-nesting", "nan", "infinity", "wrong-types", "bom", "nul-bytes"],
)
def test_corrupt_settings_fall_back_to_defaults(content):
    from desktop.settings import Settings, load_settings, settings_path

    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    settings = load_settings()
    assert isinstance(settings, Settings)
    assert settings.threshold is None or 0.0 <= settings.threshold <= 1.0
    assert settings.language is None
    assert path.read_bytes() == content  # reading never "repairs" the user's file in place


def test_settings_path_that_is_a_folder_gives_defaults():
    from desktop.settings import Settings, load_settings, settings_path

    settings_path().mkdir(parents=True)
    assert load_settings() == Settings()

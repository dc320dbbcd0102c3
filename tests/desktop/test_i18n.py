"""Every message a user can see exists, translated, in every language, and switching language
re-labels text at once -- including errors already shown."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from desktop import i18n
from desktop.errors import NotAnImageError
from desktop.i18n import LANGUAGES, set_language

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
CATALOG_LANGUAGES = [code for code in LANGUAGES if code != "en"]
KEYWORDS = {"_": None, "N_": None, "NP_": (1, 2), "gettext": None, "ngettext": (1, 2)}
DISCLAIMER = "Research and teaching tool. Not for clinical diagnosis."
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    set_language("en")


def source_msgids() -> set[str]:
    """What ``make translations-update`` extracts from desktop/ right now."""
    found = set()
    method_map = [("**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "desktop"), method_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(code):
    with open(TRANSLATIONS / code / "LC_MESSAGES" / "cxr.po", "rb") as fh:
        return read_po(fh, locale=code)


def test_languages_are_the_three_of_the_contract():
    assert LANGUAGES == {"en": "English", "pt_BR": "Português (Brasil)", "es": "Español"}


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_catalog_is_up_to_date_with_the_sources(code):
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(code) if m.id}
    wanted = source_msgids()
    missing, obsolete = sorted(wanted - ids), sorted(ids - wanted)
    assert not missing, f"{code}: run `make translations-update` and translate: {missing}"
    assert not obsolete, f"{code}: run `make translations-update` (drops): {obsolete}"


def test_template_is_up_to_date_with_the_sources():
    with open(TRANSLATIONS / "messages.pot", "rb") as fh:
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    assert ids == source_msgids(), "run `make translations-update`"


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_every_message_is_translated_and_not_fuzzy(code):
    problems = []
    for m in catalog(code):
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if not all(s and s.strip() for s in strings):
            problems.append(f"empty: {m.id!r}")
        if m.fuzzy:
            problems.append(f"fuzzy: {m.id!r}")
    assert not problems, f"{code}: " + "; ".join(problems)


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_translations_keep_the_placeholders_and_line_breaks(code):
    for m in catalog(code):
        if not m.id:
            continue
        source = m.id if isinstance(m.id, str) else m.id[-1]  # a plural's forms share fields
        for string in (m.string,) if isinstance(m.string, str) else m.string:
            assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(source)), m.id
            assert string.count("\n") == source.count("\n"), m.id


@pytest.mark.parametrize("code", CATALOG_LANGUAGES)
def test_the_disclaimer_is_in_every_catalog(code):
    message = catalog(code).get(DISCLAIMER)
    assert message is not None and message.string and message.string != DISCLAIMER


def test_translations_are_real_language_not_copies():
    """Most sentences differ from English (a copied catalog would pass the emptiness test)."""
    for code in CATALOG_LANGUAGES:
        sentences = [m for m in catalog(code) if isinstance(m.id, str) and len(m.id) > 30]
        copied = [m.id for m in sentences if m.string == m.id]
        assert len(copied) <= len(sentences) // 10, (code, copied)


def test_switching_language_relabels_and_calls_listeners():
    calls = []
    i18n.add_listener(calls.append)
    try:
        set_language("pt_BR")
        assert i18n._(DISCLAIMER) == (
            "Ferramenta de pesquisa e ensino. Não destinada a diagnóstico clínico."
        )
        set_language("es")
        assert "diagnóstico clínico" in i18n._(DISCLAIMER)
        assert i18n.current_language() == "es"
        set_language("en")
        assert i18n._(DISCLAIMER) == DISCLAIMER
    finally:
        i18n.remove_listener(calls.append)
    assert calls == ["pt_BR", "es", "en"]


def test_error_already_shown_is_relabelled_by_a_switch():
    error = NotAnImageError()
    english = error.user_message()
    set_language("es")
    assert error.user_message().startswith("Este archivo no es una imagen")
    assert str(error) == english  # logs and JSON stay English


def test_a_failing_listener_does_not_stop_the_switch():
    def broken(code):
        raise RuntimeError("widget already destroyed")

    seen = []
    i18n.add_listener(broken)
    i18n.add_listener(seen.append)
    try:
        set_language("pt_BR")
    finally:
        i18n.remove_listener(broken)
        i18n.remove_listener(seen.append)
    assert seen == ["pt_BR"] and i18n.current_language() == "pt_BR"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError):
        set_language("xx")


def test_compiled_mo_is_what_the_app_reads(tmp_path):
    for code in CATALOG_LANGUAGES:
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with open(folder / "cxr.mo", "wb") as fh:
            write_mo(fh, catalog(code))
        translations = i18n.load_catalog(code, tmp_path)
        assert translations.gettext(DISCLAIMER) == catalog(code).get(DISCLAIMER).string


@pytest.mark.parametrize(
    "raw, code",
    [("pt_BR.UTF-8", "pt_BR"), ("pt_PT", "pt_BR"), ("es_MX.utf8", "es"), ("es-AR", "es"),
     ("en_US", "en"), ("C", None), ("de_DE", None), ("", None)],
)
def test_system_locale_names_map_to_our_languages(raw, code):
    assert i18n.normalise_language(raw) == code

"""Every report test may switch the language: English again afterwards."""

import pytest

from desktop import i18n


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")

"""Errors a person sees: one translated sentence saying what happened and what to do.

Every error carries its English source text (a gettext msgid) and its format parameters rather
than a finished string, so ``user_message()`` translates it into the language active *now*: a
language switch re-labels errors already on screen. ``str(err)`` is the English text, for logs
and machine-readable output.

Messages are marked with ``N_`` so ``make translations-update`` (pybabel extract) finds them.
"""

from __future__ import annotations

from desktop.i18n import CLASS_NAMES, gettext, ngettext


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it (translated later, at display)."""
    return msgid


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular/plural pair for extraction (``ngettext`` later, at display)."""
    return singular, plural


def class_phrase(label: str) -> Sentence:
    """A class's name as a parameter of a sentence shown later: translated when shown, by the
    same catalog entry as ``desktop.i18n.class_name`` ("NEUMONÍA" in a Spanish message)."""
    return Sentence(CLASS_NAMES[label])


class Sentence:
    """One sentence a person reads: an English msgid and its parameters, translated when shown.

    ``str()`` is the English text (logs, JSON, CSV); ``user_message()`` the current language's.
    """

    plural: str | None = None  # with ``count`` in params: ngettext(msgid, plural, count)

    def __init__(self, msgid: str, /, plural: str | None = None, **params: object) -> None:
        self.msgid = msgid
        self.plural = plural
        self.params = params

    def _format(self, text: str, translate: bool = False) -> str:
        """``text`` with the parameters filled in; a parameter that is itself a ``Sentence`` (a
        translatable phrase) is filled in in the language shown."""
        params = {k: (v.user_message() if translate else str(v)) if isinstance(v, Sentence)
                  else v for k, v in self.params.items()}
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text

    def user_message(self) -> str:
        """The sentence in the current language (see ``desktop.i18n``)."""
        if self.plural is not None:
            return self._format(ngettext(self.msgid, self.plural, int(self.params["count"])),
                                translate=True)
        return self._format(gettext(self.msgid), translate=True)

    def __str__(self) -> str:
        if self.plural is not None and int(self.params["count"]) != 1:
            return self._format(self.plural)
        return self._format(self.msgid)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Sentence) and type(other) is type(self)
                and (other.msgid, other.params) == (self.msgid, self.params))

    def __hash__(self) -> int:
        return hash((type(self), self.msgid, tuple(sorted(self.params))))


class UserError(Sentence, Exception):
    """Base of every error shown to a person. Subclasses set ``message`` (an English msgid)."""

    message = N_("Something went wrong. The details are in the log file.")

    def __init__(self, message: str | None = None, /, **params: object) -> None:
        Sentence.__init__(self, message if message is not None else type(self).message,
                          **params)
        Exception.__init__(self, self._format(self.msgid))

    __str__ = Exception.__str__
    __repr__ = Exception.__repr__
    __eq__ = object.__eq__
    __hash__ = object.__hash__


class InternalError(UserError):
    """An unexpected failure; the traceback is in the log file, the user gets this sentence."""

    message = N_(
        "Something went wrong while processing this file. The details are in the log file."
    )


# --- Reading images ----------------------------------------------------------------------------


class ReadError(UserError):
    """A file could not be turned into a model input."""

    message = N_("This file could not be read. Choose another chest X-ray image.")


class FileMissingError(ReadError):
    """A file that was there when it was opened (and classified) and has gone since."""

    message = N_("This file no longer exists. Check where it was moved and open it again.")


class NoSuchFileError(ReadError):
    """A path that names no file: mistyped, or a link to nowhere."""

    message = N_("This file does not exist. Check its name and folder and open it again.")


class FilePermissionError(ReadError):
    message = N_(
        "You do not have permission to read this file. "
        "Copy it to your own folder and open the copy."
    )


class EmptyFileError(ReadError):
    message = N_("This file is empty. Choose the original chest X-ray image file.")


class NotAnImageError(ReadError):
    message = N_(
        "This file is not an image or is damaged. "
        "Choose a JPEG, PNG, BMP, TIFF or DICOM chest X-ray."
    )


class UnsupportedFormatError(ReadError):
    message = N_(
        "This kind of image is not supported. Save it as PNG or JPEG and open it again."
    )


class ImageTooLargeError(ReadError):
    message = N_(
        "This image is too large to open safely ({megapixels} megapixels, the limit is {limit}). "
        "Reduce its size and open it again."
    )
    # When the decoder refused before giving a size (rare: the header states one).
    size_unknown = N_(
        "This image is too large to open safely (the limit is {limit} megapixels). "
        "Reduce its size and open it again."
    )


class DicomNoPixelDataError(ReadError):
    message = N_(
        "This DICOM file contains no image. Choose a DICOM file that holds the X-ray itself."
    )


class FileChangedError(ReadError):
    """Re-read for the preview, the file no longer gives the image that was classified."""

    message = N_(
        "This file has changed since it was classified. Open it again to classify it anew."
    )


class DicomCompressionError(ReadError):
    message = N_(
        "Compressed DICOM of this kind is not supported. Export the image uncompressed or as PNG "
        "and open it again."
    )


# --- The model ---------------------------------------------------------------------------------


class ModelError(UserError):
    """The model file is missing, damaged, swapped or of a version this app cannot read."""

    message = N_("The model file could not be loaded. Reinstall the application.")


class ModelMissingError(ModelError):
    message = N_("The model file {name} was not found. Reinstall the application.")


class ModelChecksumMissingError(ModelError):
    message = N_(
        "The checksum file {name} that vouches for the model is missing. Reinstall the application."
    )


class ModelChecksumMismatchError(ModelError):
    message = N_(
        "The model file {name} is damaged or has been replaced (its checksum does not match). "
        "Reinstall the application."
    )


class ModelVersionError(ModelError):
    message = N_(
        "The model file {name} has format version {version}, which this application cannot read. "
        "Install a matching version of the application."
    )


# --- Writing results ---------------------------------------------------------------------------


class WriteError(UserError):
    message = N_("The file {name} could not be written. Choose another folder and try again.")


class DiskFullError(WriteError):
    message = N_("There is no room left on the disk for {name}. Free some space or choose "
                 "another drive, and try again.")

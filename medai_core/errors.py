"""One exception tree for the whole core.

::

    MedaiError                      base of everything the core raises on purpose
    ├── ConfigError(ValueError)     a ``MEDAI_*`` setting holds a value that cannot be used
    ├── InputError(ValueError)      the input cannot be used; the message says what was wrong, what is accepted
    │   ├── ImageInputError         CT images, DICOM files and series, seed points
    │   ├── CGMInputError           continuous glucose monitor exports
    │   ├── PanelInputError         tumour gene panels (MAF, VCF, CSV) and tumour types
    │   └── UploadTooLargeError     an upload (or its unpacked content) is above the configured limit
    └── ModelError                  a shipped model cannot be used
        ├── ModelNotFoundError      no models/<id>/ folder or no weights file
        ├── ModelCardError          model_card.json missing, malformed, or with unknown/missing fields
        └── ModelIntegrityError     the weights' sha256 differs from the card's

Pages catch ``InputError`` and show it; the CLI maps ``InputError`` and ``ConfigError`` to exit code 2 and any other
``MedaiError`` to exit code 1. Anything else is a bug and must surface.
"""

from __future__ import annotations

__all__ = [
    "CGMInputError",
    "ConfigError",
    "ImageInputError",
    "InputError",
    "MedaiError",
    "ModelCardError",
    "ModelError",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "PanelInputError",
    "UploadTooLargeError",
]


class MedaiError(Exception):
    """Base class of every error the core raises on purpose."""


class ConfigError(MedaiError, ValueError):
    """A setting (a ``MEDAI_*`` environment variable) holds a value that cannot be used; the message names it."""


class InputError(MedaiError, ValueError):
    """The input cannot be used. The message names what was received, what is accepted and what to do."""


class ImageInputError(InputError):
    """A CT image, DICOM file, DICOM series or seed point cannot be used."""


class CGMInputError(InputError):
    """A continuous glucose monitor export cannot be used."""


class PanelInputError(InputError):
    """A tumour gene panel (MAF, VCF, CSV) or tumour type cannot be used."""


class UploadTooLargeError(InputError):
    """An upload, or what it unpacks to, is larger than the configured limit."""


class ModelError(MedaiError):
    """A shipped model cannot be used."""


class ModelNotFoundError(ModelError):
    """There is no ``models/<id>/`` folder, or it holds no weights file."""


class ModelCardError(ModelError):
    """``model_card.json`` is missing, malformed, or has unknown or missing fields."""


class ModelIntegrityError(ModelError):
    """The sha256 of the weights file differs from the one recorded in the model card."""

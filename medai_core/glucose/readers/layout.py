"""What a vendor layout module declares: how its layout is recognised from the file's first lines, and how a file
in it is read. The registry (:data:`medai_core.glucose.readers.LAYOUTS`) lists the modules' :class:`Layout`
entries in the order they are tried."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from medai_core.glucose.readers.record import CGMRecord


class CGMOptions(TypedDict):
    """The options :func:`medai_core.glucose.readers.read_cgm` takes besides the bytes and the name.

    Attributes:
        patient: the patient id to use when the file holds several (generic tables only).
        timezone: IANA name of the patient's time zone, applied to timestamps that carry a UTC offset (None: the
            file's own offset).
    """

    patient: str | None
    timezone: str | None


@dataclass(frozen=True)
class Layout:
    """One vendor layout.

    Attributes:
        key: the layout's name (``"dexcom_clarity"``, ``"libreview_translated"``, ...).
        recognise: the index of the layout's header line among the file's lines, or None when the file is not in
            this layout (it looks at the first ten lines at most).
        read: the record of a file in this layout: ``read(lines, header, name, options)``, where ``header`` is what
            ``recognise`` returned and ``name`` is how messages refer to the file.
    """

    key: str
    recognise: Callable[[list[str]], int | None]
    read: Callable[[list[str], int, str, CGMOptions], CGMRecord]

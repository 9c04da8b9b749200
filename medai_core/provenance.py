"""The provenance manifest every model card carries: which data sets (and versions) a model was built from, and
which exams, patients or samples went into training, model selection (validation) and the held-out test.

Ids are stored dataset-qualified and hashed (``sha256("<dataset>:<id>")``, first 16 hex digits), so a card holds
no identifier of its own, and patient ``"1"`` of one data set can never be mistaken for patient ``"1"`` of another.
``evaluate`` on any folder or file asks the manifest what each of its ids is: ``train``, ``validation``, ``test``
(held out: never used in training or model selection) or new (not in the manifest at all).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from medai_core.errors import ModelCardError

__all__ = [
    "HASH_HEX_DIGITS",
    "ROLES",
    "Membership",
    "ProvenanceManifest",
    "qualified_hash",
]

HASH_HEX_DIGITS = 16
"""Hex digits kept of each sha256 (64 bits: no collision expected among a few million ids)."""

ROLES = ("train", "validation", "test")
"""Membership roles, in the order a manifest lists them. ``test`` means held out: used neither to fit nor to select."""

ID_KINDS = ("exam", "patient", "sample")


def _normalise(value: object) -> str:
    """The canonical text of an id or data set name: stripped, and integers written without a trailing ``.0``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def qualified_hash(dataset: str, local_id: object) -> str:
    """``sha256("<dataset>:<id>")`` truncated to :data:`HASH_HEX_DIGITS` hex digits.

    Args:
        dataset: the data set's short name, e.g. ``"lidc_nodules"`` or ``"weinstock2016"``.
        local_id: the exam, patient or sample id as the data set writes it.
    """
    text = f"{_normalise(dataset).lower()}:{_normalise(local_id)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_HEX_DIGITS]


@dataclass(frozen=True)
class Membership:
    """How many of a set of ids a model has seen, by role.

    Attributes:
        n_in_training: ids in the training split.
        n_in_validation: ids used for model selection (early stopping, calibration, choice of candidate).
        n_in_test: ids in the held-out test split (never used to fit or select).
        n_new: ids the manifest does not know (another data set, or data collected later).
    """

    n_in_training: int
    n_in_validation: int
    n_in_test: int
    n_new: int

    @property
    def n_held_out(self) -> int:
        """Ids used neither in training nor in model selection: held-out test plus new."""
        return self.n_in_test + self.n_new

    def to_dict(self) -> dict[str, int]:
        """The counts as the JSON keys ``evaluate`` reports."""
        return {
            "n_in_training": self.n_in_training,
            "n_in_validation": self.n_in_validation,
            "n_in_test": self.n_in_test,
            "n_new": self.n_new,
        }


@dataclass(frozen=True)
class ProvenanceManifest:
    """The data a model was built from and the membership of every id in its splits.

    Attributes:
        id_kind: what an id is: ``"exam"``, ``"patient"`` or ``"sample"``.
        datasets: one mapping per data set: ``name`` (used to qualify ids), ``version``, ``source``, and any
            other descriptive fields (licence, citation).
        membership: role -> sorted qualified hashes (see :func:`qualified_hash`).
        split: one sentence on how the split was made (seed, grouping, stratification).
    """

    id_kind: str
    datasets: tuple[Mapping[str, Any], ...]
    membership: Mapping[str, tuple[str, ...]]
    split: str
    _lookup: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup: dict[str, str] = {}
        for role in ROLES:
            for digest in self.membership.get(role, ()):
                lookup[digest] = role
        object.__setattr__(self, "_lookup", lookup)

    @classmethod
    def build(
        cls,
        *,
        id_kind: str,
        datasets: Iterable[Mapping[str, Any]],
        members: Mapping[str, Iterable[tuple[str, object]]],
        split: str,
    ) -> ProvenanceManifest:
        """A manifest from plain ids.

        Args:
            id_kind: ``"exam"``, ``"patient"`` or ``"sample"``.
            datasets: data set descriptions, each with at least ``name`` and ``version``.
            members: role -> ``(dataset name, local id)`` pairs.
            split: how the split was made.

        Raises:
            ModelCardError: an unknown role or id kind, a data set without name/version, or an id in two roles.
        """
        manifest = {
            "id_kind": id_kind,
            "datasets": [dict(d) for d in datasets],
            "membership": {
                role: sorted({qualified_hash(ds, local) for ds, local in members.get(role, ())}) for role in ROLES
            },
            "split": split,
        }
        return cls.from_dict(manifest)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "provenance manifest") -> ProvenanceManifest:
        """Validate a manifest read from a card.

        Raises:
            ModelCardError: a field is missing or malformed, or one id is listed under two roles.
        """
        if not isinstance(data, Mapping):
            raise ModelCardError(f"{source}: expected an object")
        expected = {"id_kind", "datasets", "membership", "split"}
        if set(data) != expected:
            raise ModelCardError(f"{source}: expected exactly the fields {sorted(expected)}, got {sorted(data)}")
        if data["id_kind"] not in ID_KINDS:
            raise ModelCardError(f"{source}: id_kind must be one of {list(ID_KINDS)}, got {data['id_kind']!r}")
        datasets = data["datasets"]
        if not isinstance(datasets, list) or not datasets:
            raise ModelCardError(f"{source}: datasets must be a non-empty list")
        for entry in datasets:
            if not isinstance(entry, Mapping) or not all(
                isinstance(entry.get(k), str) and entry.get(k, "").strip() for k in ("name", "version")
            ):
                raise ModelCardError(f"{source}: every data set needs a non-empty 'name' and 'version'")
        membership = data["membership"]
        if not isinstance(membership, Mapping) or set(membership) != set(ROLES):
            raise ModelCardError(f"{source}: membership must have exactly the roles {list(ROLES)}")
        seen: dict[str, str] = {}
        clean: dict[str, tuple[str, ...]] = {}
        for role in ROLES:
            hashes = membership[role]
            if not isinstance(hashes, list) or not all(
                isinstance(h, str) and len(h) == HASH_HEX_DIGITS and all(c in "0123456789abcdef" for c in h)
                for h in hashes
            ):
                raise ModelCardError(
                    f"{source}: membership.{role} must be a list of {HASH_HEX_DIGITS}-hex-digit hashes"
                )
            for digest in hashes:
                if digest in seen:
                    raise ModelCardError(f"{source}: id hash {digest} is in both {seen[digest]} and {role}")
                seen[digest] = role
            clean[role] = tuple(sorted(hashes))
        if not isinstance(data["split"], str) or not data["split"].strip():
            raise ModelCardError(f"{source}: split must be a non-empty sentence")
        return cls(
            id_kind=str(data["id_kind"]),
            datasets=tuple(dict(d) for d in datasets),
            membership=clean,
            split=str(data["split"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the inverse of :meth:`from_dict`)."""
        return {
            "id_kind": self.id_kind,
            "datasets": [dict(d) for d in self.datasets],
            "membership": {role: list(self.membership.get(role, ())) for role in ROLES},
            "split": self.split,
        }

    @property
    def dataset_names(self) -> tuple[str, ...]:
        """The names of the data sets the model was built from."""
        return tuple(str(d["name"]) for d in self.datasets)

    def role(self, dataset: str, local_id: object) -> str | None:
        """``"train"``, ``"validation"``, ``"test"``, or None where the model never had this id."""
        return self._lookup.get(qualified_hash(dataset, local_id))

    def roles(self, dataset: str, local_ids: Iterable[object]) -> list[str | None]:
        """:meth:`role` of each id, in order."""
        return [self.role(dataset, i) for i in local_ids]

    def is_held_out(self, dataset: str, local_id: object) -> bool:
        """True where the id was used neither in training nor in model selection (held-out test, or new)."""
        return self.role(dataset, local_id) not in ("train", "validation")

    def count(self, dataset: str, local_ids: Iterable[object]) -> Membership:
        """How many of the distinct ``local_ids`` (of ``dataset``) fall in each role."""
        roles = [self.role(dataset, i) for i in {_normalise(i) for i in local_ids}]
        return Membership(
            n_in_training=roles.count("train"),
            n_in_validation=roles.count("validation"),
            n_in_test=roles.count("test"),
            n_new=roles.count(None),
        )

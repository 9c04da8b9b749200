"""What the fuzz command needs of one domain, declared once per domain (``medai_core/fuzz/<domain>.py``'s
``TARGET``) and found through the domain registry (:attr:`medai_core.domains.Domain.fuzz`)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medai_core.config import REPO_ROOT
from medai_core.domains import DOMAINS as REGISTRY
from medai_core.domains import get_domain, resolve
from medai_core.fuzz.report import StructuredCase

__all__ = ["DOMAINS", "FuzzTarget", "Seed", "finite", "fixture_files", "fuzz_target", "same_name"]

DOMAINS = tuple(domain.name for domain in REGISTRY)
"""The domains the fuzz command takes (the registry's names)."""

Seed = tuple[str, bytes, tuple[int, int, int] | None]
"""A seed file: (name, bytes, a (row, col, slice) point inside its nodule or None)."""


def finite(value: float | None) -> bool:
    """Whether ``value`` is a finite number (not None, NaN or infinite)."""
    return value is not None and math.isfinite(value)


def same_name(seed_name: str) -> str:
    """The name a case is read under: its seed's name."""
    return seed_name


@dataclass(frozen=True)
class FuzzTarget:
    """One domain's part of the fuzz command.

    Attributes:
        seeds: the seed files (the project's fixtures, demo generators, ...).
        mutate_step: one mutation operator suited to the domain and the data's format, ``(rng, data, other seed)
            -> (bytes, operator name)``; when it raises, the case falls back to a byte mutation.
        check: the worker's check of one case, ``(data, name, point) -> violations``: read the input, run the first
            analysis step and list every value that is non-finite or out of range (``InputError`` passes through).
        generate: one generated case (:mod:`medai_core.fuzz_structured`) drawn from the random source.
        answer: ``(data, name) -> (answer, notes)``: what a generated file reads as, to compare two storings.
        differs: how a ``same`` file's answer differs from the reference's (None: it does not).
        case_name: the file name a case is read under, from its seed's name.
    """

    seeds: Callable[[], Sequence[Seed]]
    mutate_step: Callable[[random.Random, bytes, bytes], tuple[bytes, str]]
    check: Callable[[bytes, str, Any], list[str]]
    generate: Callable[[random.Random, int], StructuredCase]
    answer: Callable[[bytes, str], tuple[Any, tuple[str, ...]]]
    differs: Callable[[Any, Any], str | None]
    case_name: Callable[[str], str] = same_name


def fuzz_target(domain: str) -> FuzzTarget:
    """The fuzz target of the domain named ``domain`` (a registry name).

    Raises:
        ValueError: no domain of that name.
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown fuzz domain {domain!r}; use one of {', '.join(DOMAINS)}")
    target = resolve(get_domain(domain).fuzz)
    if not isinstance(target, FuzzTarget):
        raise TypeError(f"{get_domain(domain).fuzz} is not a FuzzTarget")
    return target


def fixture_files(domain: str, suffixes: Collection[str], skip_folder: str | None = None) -> list[Path]:
    """Up to about 40 of the project's fixtures under ``tests/data/<domain>/`` with one of ``suffixes`` (lower
    case, with the dot), 2 MB at most each, leaving out any under a folder named ``skip_folder``."""
    folder = REPO_ROOT / "tests" / "data" / domain
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if skip_folder is not None:
        files = [p for p in files if skip_folder not in p.parts]
    small = [p for p in files if p.stat().st_size <= 2_000_000]
    step = max(1, len(small) // 40)  # at most about 40 fixtures per domain
    return small[::step]

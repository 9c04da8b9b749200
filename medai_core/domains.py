"""The domain registry: the one table that names every domain and what the rest of the project needs of it.

The command line (``predict``/``evaluate``/``train``/``bench``), ``batch``, ``serve``, ``fuzz`` (each domain's fuzz
target), the isolated reader pool, the analysis pool's jobs, the app's navigation and the home page iterate
:data:`DOMAINS`; nothing else spells the list of domains, and each model id is written here once.

Entries name their code by dotted path (``module:function``), resolved on first use with :func:`resolve`. So this
module sits in the kernel layer and importing it costs nothing (no TensorFlow, no pandas, no domain package),
while the named modules sit where they belong (readers in the domain packages, the command modules under
``medai_core.cli``). Adding a domain is one entry here, its package and its page (docs/ARCHITECTURE.md).

The gene-panel domain has had four names; they are one domain here: ``genes`` (its command-line name, the
registry key), ``genomics`` (its package), ``gene_panel`` (its page) and ``gene_ici_survival`` (its model).
:func:`get_domain` accepts any of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medai_core.errors import CGMInputError, ImageInputError, InputError, PanelInputError

__all__ = ["DOMAINS", "CT", "GENES", "GLUCOSE", "Domain", "domain_of_module", "get_domain", "resolve"]


@dataclass(frozen=True)
class Domain:
    """One domain of the dashboard.

    Attributes:
        name: the command-line name and registry key (``predict <name>``, ``batch <name>``).
        package: the domain package (``medai_core.<package>``); its modules' failed isolated reads raise ``error``.
        model_id: the shipped model ``predict`` uses (``models/<model_id>/``).
        error: the domain's ``InputError`` subclass.
        title: how pages and menus name it.
        reader: ``module:function`` of the bytes reader, ``read_*(data, *, name, **options)`` (fuzzed, isolated).
        reader_options: keyword options the reader takes besides ``name``.
        commands: the module under ``medai_core.cli`` with ``register(verbs)`` (its ``predict``, ``evaluate``,
            ``train`` and ``bench`` sub-commands) and the one ``analyse(path, options, model)`` entry point that
            ``predict`` and ``batch`` share: read (isolated), check, analyse, and the ``predict`` JSON document.
        job: ``module:function`` of the page's analysis job (read, prepare, run the model, explain), run in the
            analysis pool under the domain's name (:data:`medai_core.workers.JOBS`).
        options: the :class:`medai_core.batch.BatchOptions` fields the domain uses.
        fuzz: ``module:TARGET`` of its :class:`medai_core.fuzz.FuzzTarget` (``medai_core/fuzz/<domain>.py``): the
            fuzz command's seeds, mutation step, check and generated cases.
        page: the Streamlit page file; ``url_path``, ``icon``, ``section``: its place in the navigation.
        summary: two sentences for the home page (what goes in, what comes out).
        aliases: other names the domain goes by (package, page, model).
    """

    name: str
    package: str
    model_id: str
    error: type[InputError]
    title: str
    reader: str
    reader_options: tuple[str, ...]
    commands: str
    job: str
    options: tuple[str, ...]
    fuzz: str
    page: str
    url_path: str
    icon: str
    section: str
    summary: tuple[str, str]
    aliases: tuple[str, ...] = ()

    @property
    def reader_module(self) -> str:
        """The module that defines :attr:`reader` (imported by every isolated reader worker when it starts)."""
        return self.reader.partition(":")[0]

    def names(self) -> tuple[str, ...]:
        """Every name the domain goes by."""
        return (self.name, self.package, self.model_id, self.page_name, *self.aliases)

    @property
    def page_name(self) -> str:
        """The page's file stem (``pages/gene_panel.py`` -> ``gene_panel``)."""
        return self.page.rpartition("/")[2].removesuffix(".py")


CT = Domain(
    name="ct",
    package="ct",
    model_id="ct_nodule",
    error=ImageInputError,
    title="CT nodule",
    reader="medai_core.ct.readers:read_ct",
    reader_options=("pixel_mm",),
    commands="medai_core.cli.ct",
    job="medai_core.workers:ct_job",
    options=("center", "threshold_hu", "pixel_mm"),
    fuzz="medai_core.fuzz.ct:TARGET",
    page="pages/ct_nodule.py",
    url_path="ct",
    icon=":material/radiology:",
    section="Imaging",
    summary=(
        "A CT slice, DICOM file or zipped series: locate and segment the nodule, measure it in mm.",
        "Malignancy probability with an interval, Grad-CAM through the slices, size-based Lung-RADS beside it.",
    ),
)
GLUCOSE = Domain(
    name="glucose",
    package="glucose",
    model_id="glucose_forecast",
    error=CGMInputError,
    title="Glucose (CGM)",
    reader="medai_core.glucose.readers:read_cgm",
    reader_options=("patient", "timezone"),
    commands="medai_core.cli.glucose",
    job="medai_core.workers:glucose_job",
    options=("timezone",),
    fuzz="medai_core.fuzz.glucose:TARGET",
    page="pages/glucose.py",
    url_path="cgm",
    icon=":material/monitoring:",
    section="Metabolic",
    summary=(
        "A Dexcom Clarity, LibreView or generic CGM export: the Ambulatory Glucose Profile and time in ranges.",
        "30/60-minute forecast with prediction intervals, hypoglycaemia risk and the readings that drove it.",
    ),
)
GENES = Domain(
    name="genes",
    package="genomics",
    model_id="gene_ici_survival",
    error=PanelInputError,
    title="Gene panel",
    reader="medai_core.genomics.readers:read_panel",
    reader_options=(),
    commands="medai_core.cli.genes",
    job="medai_core.workers:gene_job",
    options=("tumour_type", "panel", "sample", "drug_class", "age_group", "sex"),
    fuzz="medai_core.fuzz.genes:TARGET",
    page="pages/gene_panel.py",
    url_path="genes",
    icon=":material/genetics:",
    section="Genomics",
    summary=(
        "A tumour panel (MAF, VCF or CSV) and tumour type: TMB and actionable alterations with CIViC/FDA evidence.",
        "Survival on immunotherapy by drug class, with attributions and a TMB-based baseline beside it.",
    ),
)

DOMAINS: tuple[Domain, ...] = (CT, GLUCOSE, GENES)
"""Every domain, in menu order."""


def get_domain(name: str) -> Domain:
    """The domain called ``name`` (its registry name, package, page, model id or an alias).

    Raises:
        KeyError: no domain goes by that name.
    """
    for domain in DOMAINS:
        if name in domain.names():
            return domain
    raise KeyError(f"unknown domain {name!r}; known: {', '.join(d.name for d in DOMAINS)}")


def domain_of_module(module: str) -> Domain | None:
    """The domain whose package defines ``module`` (``medai_core.glucose.io`` -> glucose), or None."""
    for domain in DOMAINS:
        prefix = f"medai_core.{domain.package}"
        if module == prefix or module.startswith(prefix + "."):
            return domain
    return None


def resolve(reference: str) -> Callable[..., Any]:
    """The function a ``module:function`` reference names (the module is imported on first use)."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]

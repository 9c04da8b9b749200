"""The domain registry is the one list of domains: every consumer follows it, and its names resolve."""

from __future__ import annotations

import importlib
import inspect

import pytest

from medai_core.domains import DOMAINS, GENES, domain_of_module, get_domain, resolve
from medai_core.errors import InputError


def test_the_gene_domain_goes_by_its_four_names() -> None:
    for name in ("genes", "genomics", "gene_panel", "gene_ici_survival"):
        assert get_domain(name) is GENES
    with pytest.raises(KeyError, match="unknown domain 'ecg'"):
        get_domain("ecg")


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_each_entry_resolves_to_a_reader_and_a_command_module(domain: object) -> None:
    from medai_core.domains import Domain

    assert isinstance(domain, Domain) and issubclass(domain.error, InputError)
    reader = resolve(domain.reader)
    parameters = inspect.signature(reader).parameters
    assert list(parameters)[:2] == ["data", "name"] and set(domain.reader_options) <= set(parameters)
    assert domain_of_module(reader.__module__) is domain
    commands = importlib.import_module(domain.commands)
    for entry in ("register", "check_options", "load_context", "prepare", "score", "analyse"):
        assert callable(getattr(commands, entry)), entry
    assert domain.model_id == commands.MODEL_ID
    names = [d.name for d in DOMAINS]
    assert len(set(names)) == len(names)


def test_the_consumers_take_the_list_from_the_registry() -> None:
    from medai_core import fuzz, isolation
    from medai_core.cli import build_parser

    names = tuple(d.name for d in DOMAINS)
    assert names == fuzz.DOMAINS
    for domain in DOMAINS:  # each domain's seeds, mutation step, checks and generated cases: one entry, its own
        assert isinstance(fuzz.fuzz_target(domain.name), fuzz.FuzzTarget)
        assert domain.fuzz.partition(":")[0] == f"medai_core.fuzz.{domain.name}"
    assert tuple(d.reader_module for d in DOMAINS) == isolation.PRELOAD_MODULES
    for domain in DOMAINS:
        assert isolation.domain_error(resolve(domain.reader)) is domain.error
    parser, bench = build_parser()
    assert tuple(bench) == names
    actions = {a.dest: a for a in parser._subparsers._group_actions}  # type: ignore[union-attr]
    verbs = actions["verb"].choices
    for verb in ("predict", "evaluate", "train", "batch"):
        sub = next(a for a in verbs[verb]._actions if a.dest == "domain")
        assert tuple(sub.choices) == names, verb


def test_each_domain_names_its_analysis_job_and_the_pool_runs_it_under_the_domain_name() -> None:
    from medai_core import workers

    for domain in DOMAINS:
        job = resolve(domain.job)
        assert job.__module__ == "medai_core.workers" and callable(job)
        assert workers.JOBS[domain.name] == (job, domain.error)
    assert set(workers.JOBS) - {d.name for d in DOMAINS} == {"glucose_demo", "device"}

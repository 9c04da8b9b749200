"""Fixtures of the Ray tier: one local Ray (``num_cpus=1``) per session, and small archives of each kind.

Where Ray is not installed (``pip install -r requirements-scale.txt``) the root conftest leaves this tier out of
the collection and says so in the report header; CI installs Ray and runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

CT_CENTER = "48,48,7"  # the centre of every phantom series (medai_core.ct.phantom)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """A local Ray with one CPU, started once for the whole tier."""
    import ray

    from medai_core.scale_commands import init_ray

    init_ray(num_cpus=1)
    yield
    from ray import serve

    serve.shutdown()
    ray.shutdown()


@pytest.fixture(scope="session")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small folder per domain, from the demo generators, each with one unreadable file."""
    from medai_core.ct.phantom import make_phantom, phantom_dicom_zip
    from medai_core.genomics.demo import demo_maf
    from medai_core.glucose.simulate import simulated_csv, simulated_patient

    root = tmp_path_factory.mktemp("archives")
    folders = {name: root / name for name in ("ct", "glucose", "genes")}
    for folder in folders.values():
        folder.mkdir()
    for kind, mm in (("solid", 10.0), ("spiculated", 16.0)):
        (folders["ct"] / f"{kind}_{mm:g}mm.zip").write_bytes(phantom_dicom_zip(make_phantom(kind, mm)))  # type: ignore[arg-type]
    (folders["ct"] / "broken.dcm").write_bytes(b"DICM? no: four bytes of nothing")
    for seed in (3, 11):
        (folders["glucose"] / f"simulated_{seed}.csv").write_bytes(simulated_csv(simulated_patient(days=2, seed=seed)))
    (folders["glucose"] / "empty.csv").write_text("timestamp,glucose\n")
    for seed in (5, 9):
        (folders["genes"] / f"synthetic_{seed}.maf").write_bytes(demo_maf(30, seed=seed))
    (folders["genes"] / "broken.maf").write_text("not a maf at all\n")
    return folders


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/scale carries the ``scale`` marker (``-m "not scale"`` leaves the tier out)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.scale)

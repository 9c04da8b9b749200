"""The ``serve`` and ``batch`` verbs of ``python -m medai_core`` (contract: ``docs/CLI.md``).

Import-light: Ray is imported only inside the handlers, so the default install (without
``requirements-scale.txt``) and every other verb never load it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from medai_core.config import REPO_ROOT
from medai_core.domains import DOMAINS
from medai_core.errors import InputError, MedaiError

__all__ = ["batch_command", "init_ray", "register", "serve_command"]

_NO_RAY = (
    "Ray is not installed: `pip install -r requirements-scale.txt` adds Ray Serve and Ray Data "
    "(the rest of the app does not need them)"
)


def init_ray(address: str | None = None, num_cpus: float | None = None) -> None:
    """Connect to the Ray cluster at ``address`` (None: start a local one), with this repository importable.

    Workers get the repository on ``PYTHONPATH``, so deployments and Ray Data actors import ``medai_core`` the
    same way on every node where the repository sits at the same path (the Docker image guarantees it).

    Raises:
        MedaiError: Ray is not installed (an optional install; exit code 1).
    """
    try:
        import ray
    except ModuleNotFoundError:
        raise MedaiError(_NO_RAY) from None
    if ray.is_initialized():
        return
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    kwargs: dict[str, Any] = {
        "address": address,
        "include_dashboard": False,
        "log_to_driver": False,
        "runtime_env": {"env_vars": {"PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}},
    }
    if address is None and num_cpus is not None:
        kwargs["num_cpus"] = num_cpus
    ray.init(**kwargs)


def register(verbs: dict[str, Any]) -> None:
    """Add ``serve`` and ``batch`` at the root of the command line."""
    root = verbs["root"]
    serve = root.add_parser("serve", help="serve the shipped models with Ray Serve (needs requirements-scale.txt)")
    serve.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    serve.add_argument("--replicas", type=int, default=1, help="replicas per model (default 1)")
    serve.add_argument("--num-gpus", type=float, default=0.0, help="GPUs per replica, fractions allowed (default 0)")
    serve.add_argument("--num-cpus", type=float, default=1.0, help="CPUs per replica, fractions allowed (default 1)")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (0.0.0.0 in a container; default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.set_defaults(handler=serve_command)

    batch = root.add_parser("batch", help="score a whole archive into a parquet file (Ray Data with --engine ray)")
    batch.add_argument("domain", choices=[domain.name for domain in DOMAINS])
    batch.add_argument("--input", nargs="+", required=True, metavar="PATH", help="files, folders or quoted globs")
    batch.add_argument("--out", required=True, type=Path, help="output .parquet (inputs already in it are skipped)")
    batch.add_argument("--engine", choices=["local", "ray"], default="local", help="local (default) or ray")
    batch.add_argument("--address", default=None, help="Ray cluster address for --engine ray (default: local Ray)")
    batch.add_argument("--workers", type=int, default=2, help="Ray actors holding the model (default 2)")
    batch.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs per Ray actor (default 1)")
    batch.add_argument("--center", help="ct: nodule centre X,Y[,SLICE] for whole slices/series")
    batch.add_argument("--threshold-hu", type=float, default=None, help="ct: region-growing threshold")
    batch.add_argument("--pixel-mm", type=float, default=None, help="ct: in-plane pixel size for images without one")
    batch.add_argument("--timezone", default=None, help="glucose: IANA time zone for timestamps with offsets")
    batch.add_argument("--tumour-type", default=None, help="genes: cancer type of every sample (required)")
    batch.add_argument("--panel", default="IMPACT468", help="genes: IMPACT341|IMPACT410|IMPACT468|WES|<Mb>")
    batch.add_argument("--sample", default=None, help="genes: tumour sample id where files hold several")
    batch.add_argument("--drug-class", default="PD-1/PD-L1", choices=["PD-1/PD-L1", "CTLA-4", "Combination"])
    batch.add_argument("--age-group", default=None, choices=["<30", "31-50", "50-60", "61-70", ">71"])
    batch.add_argument("--sex", default=None, choices=["Male", "Female"])
    batch.set_defaults(handler=batch_command)


def serve_command(args: argparse.Namespace) -> int:
    """``serve``: deploy every model, print the address, and serve until interrupted."""
    if args.replicas < 1 or args.num_gpus < 0 or args.num_cpus < 0:
        raise InputError("--replicas must be >= 1, and --num-gpus and --num-cpus >= 0")
    init_ray(args.address)
    from ray import serve

    from medai_core.serve import deploy_models

    address, model_ids = deploy_models(
        replicas=args.replicas, num_cpus=args.num_cpus, num_gpus=args.num_gpus, host=args.host, port=args.port
    )
    print(f"serving {', '.join(model_ids)} at {address} (health: {address}/health)", flush=True)
    print(f"clients: export MEDAI_SERVE_ADDRESS={address}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    if args.address is None:  # a local Ray ends with this command; a cluster keeps serving
        serve.shutdown()
    return 0


def batch_command(args: argparse.Namespace) -> int:
    """``batch``: score the archive, print a one-line summary; exit 1 when an input hit a bug."""
    from medai_core.batch import BatchOptions, run_batch

    options = BatchOptions(
        center=args.center,
        threshold_hu=args.threshold_hu,
        pixel_mm=args.pixel_mm,
        timezone=args.timezone,
        tumour_type=args.tumour_type,
        panel=args.panel,
        sample=args.sample,
        drug_class=args.drug_class,
        age_group=args.age_group,
        sex=args.sex,
    )
    if args.workers < 1 or args.cpus_per_worker < 0:
        raise InputError("--workers must be >= 1 and --cpus-per-worker >= 0")
    if args.engine == "ray":
        init_ray(args.address)
    summary = run_batch(
        args.domain,
        args.input,
        args.out,
        options,
        engine=args.engine,
        workers=args.workers,
        cpus_per_worker=args.cpus_per_worker,
    )
    print(
        f"{summary.out}: {summary.scored} scored ({summary.errors} with an error), {summary.skipped} already there, "
        f"{summary.total} inputs; {summary.seconds:.1f} s"
    )
    if summary.internal_errors:
        print(
            f"error: {summary.internal_errors} input(s) hit an internal error; see their 'error' column",
            file=sys.stderr,
        )
        return 1
    return 0

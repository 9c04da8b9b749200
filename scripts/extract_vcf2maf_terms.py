"""Extract vcf2maf's consequence tables into ``tests/data/vcf2maf/`` for the vocabulary test.

vcf2maf (Kandoth et al., https://github.com/mskcc/vcf2maf, Apache-2.0) ranks Sequence Ontology terms in
``GetEffectPriority`` and maps the most severe one to a MAF ``Variant_Classification`` in
``GetVariantClassification`` (both in ``vcf2maf.pl``). This script copies those two Perl subroutines verbatim, with a
header naming the source commit and licence, so that ``tests/unit/test_genomics_vcf2maf.py`` can check
:data:`medai_core.genomics.vocabulary.SO_TERMS` against vcf2maf's own text. It reads a local ``vcf2maf.pl``
(download it from the repository first) and never touches the network.

Usage::

    python scripts/extract_vcf2maf_terms.py path/to/vcf2maf.pl --commit <sha> --date YYYY-MM-DD
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "vcf2maf" / "vcf2maf_consequence_tables.pl"
SUBS = ("GetEffectPriority", "GetVariantClassification")


def extract(text: str, name: str) -> str:
    """The Perl subroutine ``name`` of ``text``, from ``sub name {`` to its closing brace at column 0."""
    match = re.search(rf"^sub {name} \{{\n.*?^\}}\n", text, re.MULTILINE | re.DOTALL)
    if not match:
        raise SystemExit(f"sub {name} not found: is this vcf2maf.pl?")
    return match.group(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("vcf2maf_pl", type=Path)
    parser.add_argument("--commit", required=True, help="the mskcc/vcf2maf commit the file comes from")
    parser.add_argument("--date", required=True, help="that commit's date (YYYY-MM-DD)")
    args = parser.parse_args()
    text = args.vcf2maf_pl.read_text(encoding="utf-8")
    header = (
        "# Extracted from vcf2maf.pl of https://github.com/mskcc/vcf2maf\n"
        f"# commit {args.commit} ({args.date}), by scripts/extract_vcf2maf_terms.py.\n"
        "# Copyright 2024 Memorial Sloan Kettering Cancer Center. Licensed under the Apache License, Version 2.0\n"
        "# (LICENSE beside this file). The two subroutines below are copied unchanged; nothing else is kept.\n\n"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(header + "\n".join(extract(text, name) for name in SUBS), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

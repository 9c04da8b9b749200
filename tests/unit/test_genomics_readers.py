"""The readers package: one entry point with one signature, and a VCF whose records are written many times.

The fuzzer's ``repeat_line`` mutation wrote one record of a seed VCF 20,000 times (about 3 MB); each copy was parsed
again and the read took about 8 s against the isolated reader's 10 s limit. A record written again is now worked out
once and its counts replayed: these tests check that the result (calls, counts in the notes) is that of every copy
read, not how long it takes (benchmarks/bench_genes_reader.py times it).
"""

from __future__ import annotations

import inspect

import pytest

from medai_core.domains import GENES, resolve
from medai_core.errors import PanelInputError
from medai_core.genomics.readers import read_panel

_HEAD = (
    "##fileformat=VCFv4.2\n"
    "##source=Mutect2\n"
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
    'Format: Allele|Consequence|SYMBOL|HGVSp|CANONICAL">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
)
# an unranked consequence term (counted in a note per call), a call that passes
_ODD = "7\t140453136\t.\tA\tT\t.\tPASS\tCSQ=T|odd_new_term|BRAF|p.Val600Glu|YES\tGT:AD\t0/1:60,40\n"
# a record left out by its FILTER
_FILTERED = "12\t25398284\t.\tC\tT\t.\tweak_evidence\tCSQ=T|missense_variant|KRAS|p.Gly12Asp|YES\tGT:AD\t0/1:90,10\n"
# a multi-allelic record, each ALT its own call
_SPLIT = (
    "17\t7577120\t.\tC\tT,G\t.\tPASS\tCSQ=T|missense_variant|TP53|p.Arg273His|YES,G|missense_variant|TP53|"
    "p.Arg273Pro|YES\tGT:AD\t1/2:10,20,30\n"
)


def _vcf(*records: tuple[str, int]) -> bytes:
    return (_HEAD + "".join(line * copies for line, copies in records)).encode()


def test_every_reader_takes_the_registry_signature() -> None:
    reader = resolve(GENES.reader)
    assert reader is read_panel
    parameters = inspect.signature(read_panel).parameters
    assert list(parameters) == ["data", "name"] and parameters["name"].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(TypeError):
        read_panel(b"gene,protein_change\nBRAF,V600E\n", "p.csv")  # type: ignore[misc]


def test_one_record_written_20000_times_reads_as_that_record_with_every_copy_counted() -> None:
    data = _vcf((_ODD, 20_000))
    assert len(data) > 1_500_000  # 1.6 MB (the fuzzer's copies of longer seed records made 3 MB)
    panel = read_panel(data, name="repeated.vcf")
    (call,) = panel.variants
    assert (call.gene, call.protein_change, call.classification) == ("BRAF", "V600E", "Missense_Mutation")
    assert call.vaf == pytest.approx(0.4) and call.read_depth == 100 and call.position == 140453136
    notes = "\n".join(panel.notes)
    assert "19999 duplicate row(s)" in notes
    assert "20000 call(s) had a consequence term outside" in notes and "'odd_new_term' (20000)" in notes


def test_repeated_records_count_as_often_as_they_are_written() -> None:
    once = read_panel(_vcf((_ODD, 1), (_FILTERED, 1), (_SPLIT, 1)), name="once.vcf")
    many = read_panel(_vcf((_ODD, 3), (_FILTERED, 5), (_SPLIT, 4), (_ODD, 2)), name="many.vcf")
    assert many.variants == once.variants  # duplicates merged into the first row of each call
    assert [(v.gene, v.protein_change) for v in many.variants] == [
        ("BRAF", "V600E"),
        ("TP53", "R273H"),
        ("TP53", "R273P"),
    ]
    notes = "\n".join(many.notes)
    assert "5 call(s) not marked PASS in the FILTER column were left out" in notes
    assert "4 multi-allelic record(s) were split" in notes
    assert "'odd_new_term' (5)" in notes
    assert "10 duplicate row(s)" in notes  # 4 more BRAF rows, 3 more of each TP53 allele


def test_a_repeated_malformed_record_is_still_refused_at_its_own_line() -> None:
    bad = _ODD.replace("0/1:60,40", "0/3:60,40")
    with pytest.raises(PanelInputError, match=r"line 10: genotype '0/3' names allele 3"):
        read_panel(_vcf((_ODD, 3), (bad, 2)), name="bad.vcf")

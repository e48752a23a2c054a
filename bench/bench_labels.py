"""Benchmark: shipping labels rendered with WeasyPrint — 500 in one PDF (a wave) against one label alone.

Run from the project root:  python -m bench.bench_labels [--labels 500] [--small]
Each label is a 100×100 mm page (sender, receiver, reference, a Code 128 barcode); with ``--cn22`` each also has its
CN22 page. Timed: (a) the labels as one document, (b) one label as its own document, the baseline of the same run
(what printing one by one costs each time). Printed: ms per label, the ratio, and the peak memory of the process.
Goal of the issue: ≤ 30 ms per label in a batch on one core.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup


def labels_make(count: int, cn22: bool) -> list:
    from logistics.labels import LabelIn, LabelLine

    sender = {"name": "Seabridge 深圳仓", "address1": "1 Bao'an Rd", "city": "Shenzhen", "postcode": "518000",
              "country": "CN"}  # fmt: skip
    lines = [LabelLine("Phone case", "手机壳", "392690", 2, Decimal("5.00"), "USD", 120, "CN")] if cn22 else []
    return [
        LabelIn(
            tracking_number=f"LP{number:09d}CN",
            reference=f"114-{number:07d}-8772232",
            carrier="China Post 中国邮政",
            service="Registered 挂号",
            sender=sender,
            recipient={
                "name": f"Buyer {number}",
                "address1": f"{number} Main St",
                "city": "Springfield",
                "state": "IL",
                "postcode": "62701",
                "country": "US",
            },
            weight_g=280,
            lines=lines,
        )
        for number in range(count)
    ]


def run(options: argparse.Namespace) -> int:
    from logistics.labels import labels_pdf

    labels = labels_make(options.labels, options.cn22)
    labels_pdf(labels[:1])  # load fonts and Pango once, as a running worker has
    alone_runs = []
    for label in labels[:5]:
        began = time.perf_counter()
        labels_pdf([label])
        alone_runs.append(time.perf_counter() - began)
    alone = statistics.median(alone_runs)
    began = time.perf_counter()
    pdf = labels_pdf(labels)
    batch = time.perf_counter() - began
    per_label = batch / len(labels)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pages = "label + CN22" if options.cn22 else "label"
    print(f"{len(labels):,} labels ({pages} pages each), {len(pdf) / 1e6:.1f} MB of PDF")
    print(f"(a) one PDF of {len(labels):,} labels   {batch:7.2f} s   {per_label * 1000:6.1f} ms per label")
    print(f"(b) one label alone            {alone * 1000:7.1f} ms   ({alone / per_label:.1f}× a label in a batch)")
    print(f"    peak memory of the process: {peak_mb:,.0f} MB")
    print(f"    goal: ≤ 30 ms per label in a batch — {'met' if per_label <= 0.030 else 'NOT met'}")
    return 0 if pdf.startswith(b"%PDF") else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=500)
    parser.add_argument("--cn22", action="store_true", help="add each label's CN22 page")
    parser.add_argument("--small", action="store_true", help="CI size: 20 labels")
    options = parser.parse_args(argv)
    if options.small:
        options.labels = 20
    if options.labels < 5:
        parser.error("--labels must be at least 5")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())

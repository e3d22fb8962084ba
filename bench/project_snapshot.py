"""Project the figures bench/bench_cost_model.py measured to one Common Crawl snapshot on
Dataflow: vCPU-hours per stage, shuffle volume per GroupByKey, MinHash bucket sizes and
component rounds, and the cost at list prices, for each extraction engine.

    python bench/project_snapshot.py bench/cost_inputs.json [--pages 2.7e9 ...]

Every assumption is an option (its default printed with the result): re-run it when the
measured figures or the prices change. docs/scale.md says where the model is likely wrong.
"""

from __future__ import annotations

import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("figures", help="JSON written by bench_cost_model.py --out")
    ap.add_argument("--pages", type=float, default=2.7e9, help="HTML pages (responses) in the snapshot")
    ap.add_argument("--warc-files", type=int, default=90_000)
    # Dataflow batch list prices, us-central1 (USD); check the current price list.
    ap.add_argument("--vcpu-hour", type=float, default=0.056)
    ap.add_argument("--gb-hour", type=float, default=0.003557)
    ap.add_argument("--gb-per-vcpu", type=float, default=3.75, help="worker memory per vCPU (n1-standard)")
    ap.add_argument("--shuffle-gb", type=float, default=0.011, help="Dataflow Shuffle, per GB processed")
    ap.add_argument(
        "--efficiency",
        type=float,
        default=0.7,
        help="share of a worker vCPU doing stage work (the rest: Beam, I/O, idle at stage edges)",
    )
    ap.add_argument("--bucket-shards", type=int, default=1024, help="minhash_dedup.bucket_shards")
    ap.add_argument("--bands", type=int, default=14, help="minhash_dedup.bands")
    ap.add_argument("--rounds", type=int, default=16, help="minhash_dedup max_rounds on Dataflow (DEFAULT_ROUNDS)")
    ap.add_argument(
        "--kept-fraction",
        type=float,
        default=None,
        help="share of pages that reach deduplication (default: as measured on the sample pages)",
    )
    ap.add_argument(
        "--worker-peak-mb",
        type=float,
        default=None,
        help="peak RSS of one worker process, measured (bench_web_path.py, 1 worker), for the memory line",
    )
    args = ap.parse_args()
    f = json.load(open(args.figures))
    n = args.pages
    vcpu_price = args.vcpu_hour + args.gb_per_vcpu * args.gb_hour
    print(
        f"snapshot: {n:.2e} HTML pages in {args.warc_files:,} WARC files; measured on {f['corpus']['pages']} real pages "
        f"({f['corpus']['html_bytes_per_page'] / 1024:.0f} KB HTML each)"
    )
    print(
        f"price per worker vCPU-hour with {args.gb_per_vcpu} GB: ${vcpu_price:.4f}; shuffle ${args.shuffle_gb}/GB; "
        f"CPU efficiency {args.efficiency:.0%}"
    )
    dedup = f["dedup"]
    for engine in ("trafilatura", "resiliparse"):
        per_page = {"read": f["per_page_cpu_s"]["read"], **f["per_page_cpu_s"][engine]}
        share = args.kept_fraction if args.kept_fraction is not None else f["survival"][engine]["kept"]
        kept = share * n  # documents entering deduplication
        print(f"\n== engine {engine}: {kept:.2e} documents reach deduplication ({share:.1%} of pages)")
        print(f"{'stage':<22} {'CPU ms/page':>11} {'vCPU-hours':>12} {'USD':>10}")
        total_h = 0.0
        for stage, s in per_page.items():
            h = s * n / 3600 / args.efficiency
            total_h += h
            print(f"{stage:<22} {1000 * s:>11.3f} {h:>12,.0f} {h * vcpu_price:>10,.0f}")
        for stage, s in dedup["cpu_s_per_doc"].items():
            h = s * kept / 3600 / args.efficiency
            total_h += h
            print(f"{stage:<22} {1000 * s * kept / n:>11.3f} {h:>12,.0f} {h * vcpu_price:>10,.0f}")
        shuffle_gb = sum(dedup["shuffled_bytes_per_doc"].values()) * kept / 1e9
        print(f"{'total compute':<22} {'':>11} {total_h:>12,.0f} {total_h * vcpu_price:>10,.0f}")
        print(f"shuffle: {shuffle_gb:,.0f} GB -> ${shuffle_gb * args.shuffle_gb:,.0f}")
        print(f"TOTAL ({engine}): ${total_h * vcpu_price + shuffle_gb * args.shuffle_gb:,.0f}")
    kept = (args.kept_fraction if args.kept_fraction is not None else f["survival"]["trafilatura"]["kept"]) * n
    print(f"\nshuffle per GroupByKey (trafilatura chain, {kept:.2e} documents entering dedup):")
    for name, b in sorted(dedup["shuffled_bytes_per_doc"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<64} {b:>9,.0f} B/doc {b * kept / 1e9:>10,.0f} GB")
    docs = 1e9
    entries = docs * args.bands
    print(
        f"\nMinHash at {docs:.0e} documents: {entries:.1e} (band, bucket) entries over bucket_shards={args.bucket_shards} "
        f"-> {entries / args.bucket_shards:.2e} entries per group (sorted in one worker's memory: ~{entries / args.bucket_shards * 40 / 1e9:.1f} GB "
        f"at ~40 B each; raise bucket_shards to shrink it); connected components: up to {args.rounds} large-star/small-star "
        f"rounds, 2 GroupByKeys over the edge set each"
    )
    if args.worker_peak_mb:
        print(
            f"memory: {args.worker_peak_mb:.0f} MB peak per worker process measured; one SDK process per vCPU -> "
            f"{args.worker_peak_mb / 1024:.2f} GB of the {args.gb_per_vcpu} GB per vCPU, plus the MinHash bucket group above"
        )


if __name__ == "__main__":
    main()

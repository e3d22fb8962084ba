"""The commands that look at finished runs (no Beam):

curate stats OUT [OUT2 ...] [--json]      funnel, tokens per source and language, dedup;
                                          several outputs side by side
curate report OUT [-o report.html]        one self-contained HTML page with plots
curate inspect OUT_OR_SHARD [filters]     print documents (paged on a terminal)
"""

from __future__ import annotations

import json
import os
import sys

COMMANDS = ("stats", "report", "inspect")


def add_commands(sub) -> None:
    p = sub.add_parser("stats", help="a run's funnel and statistics; several runs side by side")
    p.add_argument("outputs", nargs="+", metavar="OUT", help="output directories of curate run or refilter")
    p.add_argument("--json", action="store_true", help="print JSON (a list with one summary per output)")

    p = sub.add_parser("report", help="write a self-contained HTML report of a run (plots, samples)")
    p.add_argument("output", metavar="OUT")
    p.add_argument("-o", "--html", default=None, help="the HTML file to write (default: OUT/report.html)")

    p = sub.add_parser("inspect", help="print documents of a run's shards or rejected files")
    p.add_argument("path", metavar="OUT_OR_SHARD")
    p.add_argument("--id", dest="doc_id", help="a document id (or a prefix of one)")
    p.add_argument("--source", help="only documents of this source")
    p.add_argument("--reason", help="rejected documents: stage:reason, the reason or the stage (reads rejected/)")
    p.add_argument("--rejected", action="store_true", help="read rejected/ instead of shards/")
    p.add_argument("--grep", help="a regular expression searched in the text")
    p.add_argument("--sample", type=int, help="pick N matching documents at random (by id hash and seed)")
    p.add_argument("--seed", type=int, default=0, help="seed for --sample (default 0)")
    p.add_argument("--limit", type=int, default=10, help="without --sample: the first N matches (default 10)")
    p.add_argument("--tokens", action="store_true", help="show the decoded tokens after each text")
    p.add_argument("--no-pager", action="store_true", help="never page, even on a terminal")


def _fail(msg: str) -> int:
    print(f"curate: {msg}", file=sys.stderr)
    return 2


def cmd_stats(args) -> int:
    from curate.summary import SummaryError, format_comparison, format_run, summarize

    try:
        summaries = [summarize(out) for out in args.outputs]
    except SummaryError as e:
        return _fail(str(e))
    if args.json:
        print(json.dumps(summaries, indent=1, ensure_ascii=False))
    elif len(summaries) == 1:
        print(format_run(summaries[0]))
    else:
        print(format_comparison(summaries))
        for s in summaries:
            print()
            print(format_run(s))
    return 0


def cmd_report(args) -> int:
    from curate import io as cio
    from curate.report import ReportError, render
    from curate.summary import SummaryError

    target = args.html or os.path.join(args.output, "report.html")  # not cio.join: gs:// OUT
    try:
        page = render(args.output)
    except (ReportError, SummaryError) as e:
        return _fail(str(e))
    cio.write_bytes(target, page.encode("utf-8"))
    print(f"curate: report ({len(page.encode()):,} bytes) -> {target}")
    return 0


def cmd_inspect(args) -> int:
    from curate.inspect import InspectError, Query, inspect

    q = Query(args.doc_id, args.source, args.reason, args.grep, args.rejected, args.sample, args.seed, args.limit)
    try:
        text = inspect(args.path, q, show_tokens=args.tokens)
    except InspectError as e:
        return _fail(str(e))
    except Exception as e:  # a bad regular expression, an unreadable file
        return _fail(f"inspect: {type(e).__name__}: {e}")
    if sys.stdout.isatty() and not args.no_pager:
        import pydoc

        pydoc.pager(text)
    else:
        sys.stdout.write(text)
    return 0


def run(args) -> int:
    return {"stats": cmd_stats, "report": cmd_report, "inspect": cmd_inspect}[args.command](args)

"""Build the book: ``python book/build_site.py [--out build/site]`` (``make site``).

Stages the pages (see epollkit_book.stage) into OUT/src and runs Sphinx into OUT/html: the committed
notebooks with their committed outputs, nothing executed, nothing fetched. Prints the build time, the number
of pages and the size. Exit 1 when Sphinx fails or warns (a dead link, a missing page, a bad notebook).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from epollkit_book import repo_root, stage  # noqa: E402


def build(out: Path, *, quiet: bool = True) -> dict:
    from sphinx.cmd.build import build_main

    root = repo_root()
    out = out.resolve()
    src, html, warnings = out / "src", out / "html", out / "warnings.txt"
    t0 = time.monotonic()
    staged = stage(root, src)
    args = ["-b", "html", "-c", str(HERE), "-E", "-a", "-w", str(warnings), "--keep-going",
            "-d", str(out / "doctrees"), str(src), str(html)]
    rc = build_main((["-q"] if quiet else []) + args)
    seconds = time.monotonic() - t0
    files = [p for p in html.rglob("*") if p.is_file()]
    return {
        "rc": rc,
        "seconds": round(seconds, 1),
        "pages": len(staged),
        "html_files": sum(p.suffix == ".html" for p in files),
        "bytes": sum(p.stat().st_size for p in files),
        "html": html,
        "warnings": [w for w in warnings.read_text().splitlines() if w.strip()] if warnings.exists() else [],
        "staged": staged,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=repo_root() / "build" / "site",
                    help="build folder (default: build/site; the site lands in OUT/html)")
    args = ap.parse_args(argv)
    r = build(args.out)
    for w in r["warnings"]:
        print(w, file=sys.stderr)
    print(f"book: {r['pages']} pages in {r['seconds']} s, {r['bytes'] / 2**20:.1f} MiB, "
          f"open {r['html'] / 'index.html'}")
    if r["rc"] != 0 or r["warnings"]:
        print(f"book: Sphinx {'failed' if r['rc'] else 'warned'} ({len(r['warnings'])} warning(s))",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

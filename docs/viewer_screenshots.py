"""Screenshots of the viewer's pages for docs/viewer.md (run by hand, not by the tests).

    python docs/viewer_screenshots.py demo [MORE_RUN_FOLDERS ...]

serves the run folders (``make demo`` writes ``demo``) on a free local port, opens each page
in Debian's chromium (``$TRANSLOCUS_CHROMIUM`` or ``chromium`` on the PATH), waits until its
plots are drawn and writes ``docs/images/viewer-<page>.png``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "images"
#: Page -> (URL path and query given the demo run's id, element shown, plots to wait for).
PAGES = {
    "study": ("/study?run={demo}", "main", 0),
    "cause": ("/cause?run={demo}/cause_lmm&trait=trait1&chr=18", "main", 1),
    "progression": ("/progression?run={demo}/progression_model_ad", "main", 1),
    "treatment": ("/treatment?run={demo}/treatment_pdxe", "main", 2),
    "human": ("/human?run={demo}/translation_peaks&chr=18&start=29.4&end=37.5", "main", 2),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(roots: list[Path]) -> tuple[str, object]:
    import uvicorn

    from translocus.web import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(roots), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders; the first is the demo")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1100)
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated pages")
    args = parser.parse_args(argv)
    chromium = os.environ.get("TRANSLOCUS_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        print("no chromium: apt-get install chromium, or set TRANSLOCUS_CHROMIUM", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    base, server = _serve(args.runs)
    demo = args.runs[0].resolve().name
    IMAGES.mkdir(exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            for name in args.pages.split(","):
                path, selector, plots = PAGES[name]
                page.goto(base + path.format(demo=demo))
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    drawn = page.evaluate(
                        "() => document.querySelectorAll('.js-plotly-plot').length"
                    )
                    if drawn >= plots and page.evaluate(
                        "() => document.querySelectorAll('table.data tbody tr').length > 0"
                    ):
                        break
                    time.sleep(0.2)
                time.sleep(1.0)  # plotly's transitions
                target = IMAGES / f"viewer-{name}.png"
                page.screenshot(path=str(target), full_page=False)
                print(f"{target} ({page.url})")
            browser.close()
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

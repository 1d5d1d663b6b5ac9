"""Open the built documentation in headless Chromium and fail on a page that does not render.

    python tools/check_site.py docs/_build/html                      # nox -s docs_browser
    python tools/check_site.py docs/_build/html --screenshots /tmp/shots

For every HTML page of the site: it loads with no JavaScript error, no console error and no
failed request; its main text is there; every image is drawn (loaded, with a size); every link
into the site points at a file that exists. Then the search page, asked for a word the pages
use, must list results, and the performance page must show the benchmark plot. With
``--screenshots DIR``, pages are saved as PNG: the home page, the API reference, the
performance page with its plot, and the search results.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``:
JSON messages on file descriptors 3 and 4), so nothing but the standard library and Debian's
``chromium`` package is needed. Exit status: 0 when every check passed, 1 otherwise, 2 when
Chromium or the site is missing.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

#: The search page is asked for this; the reference pages use it many times.
SEARCH_WORD = "with_item"
SKIP_PAGES = {"genindex.html", "py-modindex.html", "search.html"}
#: Pages saved as pictures with --screenshots (and the search results, as search.png).
SCREENSHOTS = ("index.html", "api.html", "performance.html")


class Browser:
    """One headless Chromium and one tab, spoken to over the DevTools pipe."""

    def __init__(self, executable: str, profile: str) -> None:
        # Chromium's own messages, shown if it stops; closed with the browser.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_pipes() -> None:  # in the child: Chromium reads fd 3, writes fd 4
            # copies above 4 first, so that moving one cannot overwrite the other
            reads = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            writes = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(reads, 3)
            os.dup2(writes, 4)

        self.process = subprocess.Popen(
            [executable, "--headless=new", "--remote-debugging-pipe", "--no-sandbox",
             "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--allow-file-access-from-files",
             f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
            # fds 3 and 4 are kept open in the child: the pipes are moved there before exec
            preexec_fn=wire_pipes, pass_fds=(3, 4, to_chrome_r, from_chrome_w))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                  session=True)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                self._log.seek(0)
                log = self._log.read().decode(errors="replace")[-3000:]
                raise RuntimeError(f"Chromium closed the DevTools pipe; it said:\n{log}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(message))

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             session: bool = False, timeout: float = 30) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            if "method" in reply:
                self.events.append(reply)

    def wait_for_event(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(event["method"] == method for event in self.events):
            self.events.append(self._read_message(deadline))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> list[str]:
        """Load ``url``; return the problems the page reported while loading."""
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for_event("Page.loadEventFired")
        time.sleep(0.3)  # late scripts (the theme, the search) report their errors too
        self.evaluate("1")  # collect the events that came meanwhile
        return self.problems()

    def problems(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                exception = details.get("exception", {}).get("description")
                found.append(f"JavaScript error: {exception or details.get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append("console error: " + " ".join(
                    str(arg.get("value", arg.get("description", ""))) for arg in params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"browser error: {params['entry']['text']}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                found.append(f"failed to load a resource: {params.get('errorText')}")
        return found

    def wait_until(self, expression: str, timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.2)

    def screenshot(self, path: Path) -> None:
        height = self.evaluate("Math.min(document.documentElement.scrollHeight, 2400)")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": int(height), "deviceScaleFactor": 1,
                   "mobile": False}, session=True)
        data = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        path.write_bytes(base64.b64decode(data))
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                  session=True)

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        self._log.close()


PAGE_STATE = """(() => {
  const main = document.querySelector('article[role=main]') || document.querySelector('article');
  const images = [...document.images].map(i => ({src: i.getAttribute('src'),
      drawn: i.complete && i.naturalWidth > 0, width: i.naturalWidth}));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  return {title: document.title, text: main ? main.innerText.length : 0, images, links,
          h1: (document.querySelector('h1') || {}).innerText || ''};
})()"""


def check_page(browser: Browser, site: Path, page: Path) -> list[str]:
    problems = browser.open(page.as_uri())
    state = browser.evaluate(PAGE_STATE)
    if "fastctx" not in state["title"]:
        problems.append(f"unexpected title {state['title']!r}")
    if not state["h1"]:
        problems.append("no heading")
    if state["text"] < 200:
        problems.append(f"the main text is {state['text']} characters long")
    for image in state["images"]:
        if not image["drawn"]:
            problems.append(f"image not drawn: {image['src']}")
    for link in state["links"]:
        parts = urlsplit(link)
        if parts.scheme == "file" and not Path(unquote(parts.path)).exists():
            problems.append(f"broken link: {link}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built site (docs/_build/html)")
    parser.add_argument("--screenshots", type=Path, metavar="DIR",
                        help="save four pages as PNG files in DIR")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"),
                        help="the browser to run (default: chromium, or $CHROMIUM)")
    args = parser.parse_args(argv)

    executable = shutil.which(args.chromium)
    if executable is None:
        print(f"check_site: {args.chromium} not found (Debian: apt-get install chromium)",
              file=sys.stderr)
        return 2
    site = args.site.resolve()
    if not (site / "index.html").exists():
        print(f"check_site: no site in {site} (build it: nox -s docs)", file=sys.stderr)
        return 2
    pages = sorted(p for p in site.glob("*.html") if p.name not in SKIP_PAGES)
    failures: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="fastctx-chromium-") as profile:
        browser = Browser(executable, profile)
        try:
            for page in pages:
                problems = check_page(browser, site, page)
                print(f"{'ok  ' if not problems else 'FAIL'} {page.name}")
                if problems:
                    failures[page.name] = problems
                if args.screenshots and page.name in SCREENSHOTS:
                    args.screenshots.mkdir(parents=True, exist_ok=True)
                    browser.screenshot(args.screenshots / page.name.replace(".html", ".png"))

            plot = browser.open((site / "performance.html").as_uri()) and []
            width = browser.evaluate(
                "(() => { const i = [...document.images].find(i => i.src.endsWith('bench.png'));"
                " return i && i.complete ? i.naturalWidth : 0; })()")
            print(f"{'ok  ' if width > 300 else 'FAIL'} the plot: {width} px wide")
            if not width > 300:
                plot.append("the benchmark plot is not drawn on performance.html")
                failures["plot"] = plot

            search = (site / "search.html").as_uri() + f"?q={SEARCH_WORD}"
            problems = browser.open(search)
            count = browser.wait_until(
                "document.querySelectorAll('#search-results ul.search li').length")
            print(f"{'ok  ' if count and not problems else 'FAIL'} search for "
                  f"{SEARCH_WORD!r}: {count} results")
            if not count:
                problems.append(f"the search for {SEARCH_WORD!r} lists no result")
            if problems:
                failures["search"] = problems
            if args.screenshots:
                browser.screenshot(args.screenshots / "search.png")
        finally:
            browser.close()

    for name, problems in failures.items():
        for problem in problems:
            print(f"{name}: {problem}", file=sys.stderr)
    if failures:
        print(f"check_site: {len(failures)} of {len(pages) + 2} checks failed", file=sys.stderr)
        return 1
    print(f"check_site: {len(pages)} pages, the plot and the search render in Chromium")
    if args.screenshots:
        print(f"screenshots in {args.screenshots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

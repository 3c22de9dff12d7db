"""Headless Chromium driven through the Chrome DevTools protocol (a websocket): open a page,
run JavaScript in it, click and wait for the next page to load. Loopback only."""

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from tests.report.test_browser import HEADLESS_FLAGS, chromium

START_SECONDS = 60
LOAD_SECONDS = 30


class Chrome:
    """One headless Chromium with one page, driven by CDP calls."""

    def __init__(self, profile: Path) -> None:
        self.process = subprocess.Popen(
            [chromium(), *HEADLESS_FLAGS, "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,2000",
             "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + START_SECONDS
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert time.monotonic() < deadline and self.process.poll() is None, "no Chromium"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            target = next(t for t in json.load(answer) if t["type"] == "page")
        self.socket = connect(target["webSocketDebuggerUrl"], max_size=None)
        self.calls, self.events = 0, []
        self.call("Page.enable")

    def call(self, method: str, **params: Any) -> dict:
        """Send one command and return its result (events seen meanwhile are kept)."""
        self.calls += 1
        self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=LOAD_SECONDS))
            if message.get("id") == self.calls:
                assert "error" not in message, message
                return message["result"]
            self.events.append(message.get("method"))

    def wait_for_load(self) -> None:
        """Until the page fires its load event (one seen already counts)."""
        while "Page.loadEventFired" not in self.events:
            message = json.loads(self.socket.recv(timeout=LOAD_SECONDS))
            self.events.append(message.get("method"))
        self.events.clear()

    def open(self, url: str) -> None:
        """Go to `url` and wait until it has loaded."""
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for_load()

    def run(self, script: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=script, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """Click the element `selector` names and wait for the page it leads to."""
        self.events.clear()
        found = self.run(
            f"(e => e ? (e.click(), true) : false)(document.querySelector({json.dumps(selector)}))"
        )
        assert found, f"nothing matches {selector}"
        self.wait_for_load()

    def close(self) -> None:
        """Close the socket and end the browser."""
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)

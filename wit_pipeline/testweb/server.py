"""WebServer: the synthetic web over HTTP on 127.0.0.1, threaded, stoppable mid-fault."""

from __future__ import annotations

import socket
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from types import TracebackType

from .responses import Handler
from .web import SyntheticWeb

_HOST = "127.0.0.1"


class LoopbackServer(ThreadingHTTPServer):
    """The socket server: knows the web, the per-path rate-limit state and open connections."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, web: SyntheticWeb, port: int) -> None:
        super().__init__((_HOST, port), Handler)
        self.web = web
        self.origin = f"http://{_HOST}:{self.server_address[1]}"
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.blocked_until: dict[str, float] = {}
        self.connections: set[socket.socket] = set()

    def process_request(self, request: socket.socket, client_address: object) -> None:
        """Track the connection so `close_connections` can reach it."""
        with self.lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        """Forget the connection, then close it."""
        with self.lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hang up (the faults provoke that); report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down every open connection so that blocked handler threads return."""
        with self.lock:
            open_now = list(self.connections)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue


class WebServer:
    """Serves a SyntheticWeb on 127.0.0.1 (port 0: a free one) from a background thread."""

    def __init__(self, web: SyntheticWeb, port: int = 0) -> None:
        self.web = web
        self._port = port
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> WebServer:
        """Bind and start serving; returns self."""
        if self._server is not None:
            raise RuntimeError("WebServer is already running")
        self._server = LoopbackServer(self.web, self._port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"testweb-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, grace: float = 2.0) -> None:
        """Stop serving and cut open connections, waiting at most `grace` s for handlers."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
        deadline = time.monotonic() + grace
        while server.connections and time.monotonic() < deadline:
            time.sleep(0.02)

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def _running(self) -> LoopbackServer:
        if self._server is None:
            raise RuntimeError("WebServer is not running; use start() or a with block")
        return self._server

    @property
    def port(self) -> int:
        """The bound port."""
        return self._running.server_address[1]

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT, without a trailing slash."""
        return self._running.origin

    @property
    def base_url(self) -> str:
        """The home page URL, http://127.0.0.1:PORT/."""
        return self.origin + "/"

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return self.origin + path

    def open_connections(self) -> int:
        """How many client connections a handler thread is still serving."""
        return len(self._running.connections)

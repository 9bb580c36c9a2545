"""The briefing holds load (issue 18): kernels bounded and culled, foreign Host refused, nothing
fetched outside 127.0.0.1. Each test starts the real Voilà server of `bilans briefing`."""

from __future__ import annotations

import re
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_briefing import _descendants, _free_port, start_briefing  # noqa: E402

from pipelines.publish.briefing_server import CULL, MAX_KERNELS  # noqa: E402

# The CLI and Voilà (~250 MB) + MAX_KERNELS kernels (~150 MB each, 200 with room) + one refilling the pool.
MEMORY_BOUND = 300 * 2**20 + (MAX_KERNELS + 1) * 200 * 2**20  # 1.3 GB


def http_get(port: int, host: str, path: str = "/", timeout: float = 120) -> tuple[int, str]:
    """A raw HTTP/1.1 GET with the given Host header (urllib would write the true one). Reading stops
    at the end of the page (« </html> ») or at the deadline: Voilà 0.5 sometimes never closes the
    stream of a preheated page, and a reader waiting for the close would wait for ever."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while time.monotonic() < deadline and b"</html>" not in b"".join(chunks[-2:]):
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = sock.recv(1 << 16)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return int(head.split(b" ", 2)[1]), body.decode("utf-8", errors="replace")


def _dechunk(body: bytes) -> bytes:
    """The body of a chunked HTTP/1.1 response (Voilà streams its page in pieces)."""
    out = []
    while body:
        size, _, body = body.partition(b"\r\n")
        n = int(size.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out.append(body[:n])
        body = body[n + 2:]
    return b"".join(out)


def tree_rss(pid: int) -> tuple[int, int]:
    """(resident bytes, processes) of a process and all its descendants, from /proc."""
    total = n = 0
    for p in _descendants(pid):
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * 4096
            n += 1
        except (OSError, IndexError):
            continue
    return total, n


@pytest.fixture
def briefing_server(fixture_store):
    port = _free_port()
    proc = start_briefing(fixture_store, port)
    try:
        yield proc, port
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except Exception:  # noqa: BLE001 - never leave Voilà behind
            proc.kill()
            proc.wait()


def test_foreign_host_is_refused_and_the_page_fetches_nothing_outside(briefing_server):
    _proc, port = briefing_server
    status, page = http_get(port, f"127.0.0.1:{port}")
    assert status == 200 and "<title>briefing_elus</title>" in page
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example"):
        assert http_get(port, host)[0] == 403, host  # DNS rebinding: a foreign name that resolves to us
    assert http_get(port, f"localhost:{port}")[0] == 200
    # Every URL the page loads (link, script, import, url()) stays on this server or is inline.
    loaded = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)|import\(\s*["']([^"']+)|url\(\s*["']?([^"')]+)""", page)
    external = [u for groups in loaded for u in groups if re.match(r"(?:https?:)?//", u)]
    assert external == []
    assert "fontawesome" not in page and "cdnjs" not in page and "jsdelivr" not in page


def open_page(port: int, timeout: float = 120) -> int:
    """Open the page as a visitor who leaves once it starts to arrive: the status of the response.
    (Under a loaded machine, Voilà 0.5 sometimes never ends the stream of a preheated page; the
    kernels it starts are what this test is about.)"""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head and (chunk := sock.recv(4096)):
            head += chunk
    return int(head.split(b" ", 2)[1])


@pytest.mark.slow
def test_fifty_page_loads_keep_memory_bounded(briefing_server):
    proc, port = briefing_server
    for _ in range(50):
        assert open_page(port) == 200
    rss, processes = tree_rss(proc.pid)
    # the CLI, Voilà and at most MAX_KERNELS kernels (a kernel may be starting to refill the pool)
    assert processes <= 2 + MAX_KERNELS + 1, processes
    assert rss < MEMORY_BOUND, f"{rss / 2**20:.0f} Mo"


def test_idle_kernels_are_culled_by_settings():
    from pipelines.publish.briefing import voila_command

    command = voila_command(8866)
    assert command[1:3] == ["-m", "pipelines.publish.briefing_server"]
    assert f"--MappingKernelManager.cull_idle_timeout={CULL['cull_idle_timeout']}" in command
    assert "--MappingKernelManager.cull_connected=True" in command
    assert f"--BoundedKernelManager.max_kernels={MAX_KERNELS}" in command

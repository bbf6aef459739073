"""The gateway: one 127.0.0.1 port per replica slot, forwarded into a network the host cannot reach.

Runs in the ``harness-gateway`` container, started by ``harness/backends/gateway.py`` on a
network of the harness (an attachable overlay network, whose addresses the host cannot
reach, or a bridge). Its control port and one data port per slot are published on
127.0.0.1 only. Standard library only (asyncio).

Control port (8080): a line protocol. Each connection is greeted with ``READY`` (docker-proxy
accepts before this program listens, so only the greeting proves the connection reaches it);
then each request line gets one answer line:

- ``ROUTE <slot> <host> <port>``: new connections to the slot go to host:port; the slot's
  open connections are closed (they reach the old target). ``OK``.
- ``UNROUTE <slot>``: new connections to the slot are closed at once; open ones closed. ``OK``.
- ``PROBE <host> <port> <timeout>``: whether a TCP connect from here succeeds within
  timeout seconds: ``OK`` or ``NO`` (dependency readiness, from inside the network).
- anything else: ``ERR <reason>``.

Data port of slot s: 9000 + s. Each new connection is forwarded to the slot's current target
(connect within ``CONNECT_TIMEOUT``; a target that refuses or does not answer closes the
client's connection), bytes copied both ways with half-close: an end-of-file from one side
is passed on to the other, and the connection ends once both directions have. Buffers are
bounded: a read is at most ``CHUNK`` bytes and the next waits until the write has drained.
"""

from __future__ import annotations

import asyncio
import signal
import sys

CONTROL_PORT = 8080
DATA_BASE = 9000  # slot s listens on DATA_BASE + s
MAX_SLOTS = 64
CONNECT_TIMEOUT = 2.0
MAX_PROBE_TIMEOUT = 30.0
CHUNK = 64 * 1024
CLOSE_TIMEOUT = 5.0  # to flush the last bytes of a link that ended
LINE_LIMIT = 1024


class _Link:
    """One forwarded connection: the client's side, the target's once connected, and its task."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.target: asyncio.StreamWriter | None = None
        self.task: asyncio.Task | None = None

    def close(self) -> None:
        """At once, without flushing: the client sees its connection end."""
        for writer in (self.client, self.target):
            if writer is not None:
                writer.transport.abort()
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()


class Gateway:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.routes: dict[int, tuple[str, int] | None] = {s: None for s in range(1, slots + 1)}
        self.links: dict[int, set[_Link]] = {s: set() for s in range(1, slots + 1)}

    def _close_slot(self, slot: int) -> None:
        for link in list(self.links[slot]):
            link.close()
        self.links[slot].clear()

    # ---- control -------------------------------------------------------------------------

    async def answer(self, line: str) -> str:
        words = line.split()
        if not words:
            return "ERR empty request"
        verb, args = words[0].upper(), words[1:]
        try:
            if verb == "ROUTE" and len(args) == 3:
                slot, host, port = self._slot(args[0]), args[1], self._port(args[2])
                self.routes[slot] = (host, port)
                self._close_slot(slot)
                return "OK"
            if verb == "UNROUTE" and len(args) == 1:
                slot = self._slot(args[0])
                self.routes[slot] = None
                self._close_slot(slot)
                return "OK"
            if verb == "PROBE" and len(args) == 3:
                host, port, timeout = args[0], self._port(args[1]), self._timeout(args[2])
                return "OK" if await self._probe(host, port, timeout) else "NO"
        except ValueError as exc:
            return f"ERR {exc}"
        return f"ERR expected ROUTE slot host port, UNROUTE slot or PROBE host port timeout, got {line[:80]!r}"

    def _slot(self, text: str) -> int:
        if not text.isdigit() or not 1 <= int(text) <= self.slots:
            raise ValueError(f"slot {text[:20]!r} is not one of 1..{self.slots}")
        return int(text)

    @staticmethod
    def _port(text: str) -> int:
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise ValueError(f"port {text[:20]!r} is not one of 1..65535")
        return int(text)

    @staticmethod
    def _timeout(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 < value <= MAX_PROBE_TIMEOUT:
            raise ValueError(f"timeout {text[:20]!r} is not a number of seconds in (0, {MAX_PROBE_TIMEOUT:.0f}]")
        return value

    @staticmethod
    async def _probe(host: str, port: int, timeout: float) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, asyncio.TimeoutError):
            return False
        writer.transport.abort()
        return True

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(b"READY\n")
            await writer.drain()
            while True:
                try:
                    raw = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    return
                except asyncio.LimitOverrunError:
                    writer.write(f"ERR a request line is longer than {LINE_LIMIT} bytes\n".encode())
                    await writer.drain()
                    return
                writer.write((await self.answer(raw.decode(errors="replace").strip())).encode() + b"\n")
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()

    # ---- data ----------------------------------------------------------------------------

    async def forward(self, slot: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        route = self.routes[slot]
        if route is None:
            writer.transport.abort()
            return
        link = _Link(writer)
        link.task = asyncio.current_task()
        self.links[slot].add(link)
        pumps: list[asyncio.Task] = []
        try:
            try:
                target_reader, link.target = await asyncio.wait_for(
                    asyncio.open_connection(*route, limit=CHUNK), CONNECT_TIMEOUT)
            except (OSError, asyncio.TimeoutError):
                return
            pumps = [asyncio.ensure_future(_pump(reader, link.target)),
                     asyncio.ensure_future(_pump(target_reader, writer))]
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            # both directions ended with an end-of-file: flush what is left, then close
            if len(done) == 2 and all(not p.cancelled() and p.exception() is None for p in pumps):
                await asyncio.wait_for(_close(writer, link.target), CLOSE_TIMEOUT)
        except (OSError, asyncio.TimeoutError, asyncio.CancelledError):
            pass
        finally:
            for pump in pumps:
                pump.cancel()
            for pump in pumps:  # retrieve a pump's error (a reset): it ended the link, nothing more
                if pump.done() and not pump.cancelled():
                    pump.exception()
            self.links[slot].discard(link)
            link.close()

    async def serve(self) -> None:
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
        servers = [await asyncio.start_server(self.control, "0.0.0.0", CONTROL_PORT, limit=LINE_LIMIT)]
        for slot in self.routes:
            servers.append(await asyncio.start_server(
                lambda r, w, s=slot: self.forward(s, r, w), "0.0.0.0", DATA_BASE + slot, limit=CHUNK))
        print(f"gateway: control on {CONTROL_PORT}, slots 1..{self.slots} on {DATA_BASE + 1}..{DATA_BASE + self.slots}",
              flush=True)
        await stop
        for server in servers:
            server.close()


async def _close(*writers: asyncio.StreamWriter) -> None:
    for writer in writers:
        writer.close()
    for writer in writers:
        await writer.wait_closed()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end-of-file, then pass the end-of-file on (half-close); bounded by drain()."""
    while True:
        data = await reader.read(CHUNK)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit() or not 1 <= int(argv[0]) <= MAX_SLOTS:
        print(f"usage: gateway.py SLOTS (1..{MAX_SLOTS})", file=sys.stderr)
        return 2
    asyncio.run(Gateway(int(argv[0])).serve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

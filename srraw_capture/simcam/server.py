"""The PTP/IP responder on 127.0.0.1: the command and event TCP connections and their threads.

One listening port takes both connections (libgphoto2 connects the event connection to the
port its path names last). A new Init_Command_Request replaces the session in place, so an
initiator that lost its connection can always come back. Every socket wait has a timeout so
threads notice `stop()`, `unplug()` and `freeze()`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass, field

from srraw_capture.simcam import ptpip
from srraw_capture.simcam.codes import RESPONSE_NAMES
from srraw_capture.simcam.device import Reply, SimCamera

log = logging.getLogger("srraw.simcam")

HOST = "127.0.0.1"  # loopback only: the simulated camera is never reachable from the network
POLL_S = 0.25  # how often blocked threads look at the stop / unplug / freeze flags
INIT_TIMEOUT_S = 5.0  # a new connection must introduce itself within this
PACKET_TIMEOUT_S = 10.0  # a packet, once started, must arrive whole within this
SEND_TIMEOUT_S = 30.0  # an initiator that stops reading is dropped after this
ONE_WRITE_LIMIT = 4 << 20  # replies up to this size go out in one write (with TCP_NODELAY)
MAX_DATA_PHASE = 1 << 20  # an initiator's data phase (property values) is small
GUID = b"srraw-simcam\0\0\0\1"


class _Closed(Exception):
    """The connection ended (peer closed, timed out, replaced or stopped)."""


@dataclass(eq=False)
class _Session:
    number: int
    command: socket.socket
    events: socket.socket | None = None
    started: float = field(default_factory=time.monotonic)


def _quickack(sock: socket.socket) -> None:
    """ACK at once (Linux re-enables delayed ACKs after each read, so set it every time)."""
    if hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _close(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class PtpIpServer:
    """Serves one SimCamera over PTP/IP on 127.0.0.1:port (0 picks a free port)."""

    def __init__(self, camera: SimCamera, port: int = 15740, name: str = "SimCam") -> None:
        self.camera = camera
        self.port = port
        self.name = name
        self.last_activity = time.monotonic()
        self._events: queue.Queue[tuple[int, int, tuple[int, ...]]] = queue.Queue()
        self._stop = threading.Event()
        self._plugged = threading.Event()
        self._thawed = threading.Event()
        self._thawed.set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._session: _Session | None = None
        self._next_number = 1
        self._threads: list[threading.Thread] = []
        camera.on_event = lambda code, tid, params: self._events.put((code, tid, params))

    # ---- lifetime and faults -------------------------------------------------------------

    def start(self) -> PtpIpServer:
        self._listen()
        self._plugged.set()
        for target, name in ((self._accept_loop, "accept"), (self._event_loop, "events")):
            thread = threading.Thread(target=target, name=f"simcam-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thawed.set()
        self._close_listener()
        self._end_session(self._session, "stopping")
        for thread in self._threads:
            thread.join(timeout=2 * POLL_S + 1)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def connected(self) -> bool:
        return self._session is not None

    @property
    def plugged(self) -> bool:
        return self._plugged.is_set()

    @property
    def frozen(self) -> bool:
        return not self._thawed.is_set()

    def unplug(self) -> None:
        """Close both connections now and refuse new ones (connection refused) until plug()."""
        self._plugged.clear()
        self._close_listener()
        self._end_session(self._session, "unplugged")

    def plug(self) -> None:
        if not self._plugged.is_set():
            self._listen()
            self._plugged.set()

    def freeze(self) -> None:
        """Stop answering anything (requests, new connections, events) until thaw()."""
        self._thawed.clear()

    def thaw(self) -> None:
        self._thawed.set()

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, self.port))
        except OSError:
            sock.close()
            raise
        sock.listen(4)
        sock.settimeout(POLL_S)
        self.port = sock.getsockname()[1]
        self._listener = sock

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() first: close() alone leaves the socket listening until the accept
            # thread's pending accept() returns, and a connect meanwhile gets a reset.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                listener.close()

    # ---- connections ---------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            listener = self._listener
            if listener is None:
                self._stop.wait(POLL_S)
                continue
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                self._stop.wait(POLL_S)  # closed by unplug() or stop()
                continue
            if not self._plugged.is_set():
                _close(conn)
                continue
            self.last_activity = time.monotonic()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(POLL_S)
            threading.Thread(
                target=self._serve, args=(conn,), name="simcam-connection", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        """A new connection: command (then serve it) or event (attach it to its session)."""
        session = None
        try:
            kind, payload = self._read_packet(conn, idle_ok=False, timeout=INIT_TIMEOUT_S)
            if not self._wait_thawed(None):
                raise _Closed("stopping")
            if kind == ptpip.INIT_COMMAND_REQUEST:
                request = ptpip.parse_init_command_request(payload)
                session = self._new_session(conn)
                log.info("initiator %r connected (connection %d)", request.name, session.number)
                self._send(conn, ptpip.init_command_ack(session.number, GUID, self.name))
                self._command_loop(session)
            elif kind == ptpip.INIT_EVENT_REQUEST:
                number = ptpip.parse_init_event_request(payload)
                current = self._session
                if current is None or current.number != number or current.events is not None:
                    self._send(conn, ptpip.init_fail())
                    raise _Closed(f"event connection for unknown connection {number}")
                current.events = conn
                self._send(conn, ptpip.init_event_ack())
            else:
                raise _Closed(f"first packet of type {kind}")
        except (_Closed, OSError, ptpip.FramingError) as exc:
            log.debug("connection ended: %s", exc)
            if session is not None:
                self._end_session(session, str(exc))
            else:
                current = self._session
                if current is None or conn not in (current.command, current.events):
                    _close(conn)

    def _new_session(self, conn: socket.socket) -> _Session:
        with self._lock:
            old = self._session
            session = _Session(self._next_number, conn)
            self._next_number += 1
            self._session = session
        if old is not None:
            self._close_session_sockets(old)
            log.info("connection %d replaced by %d", old.number, session.number)
        self.camera.session_closed()
        return session

    def _end_session(self, session: _Session | None, reason: str) -> None:
        if session is None:
            return
        with self._lock:
            current = self._session is session
            if current:
                self._session = None
        if current:
            self.camera.session_closed()
            self.last_activity = time.monotonic()
            log.info("connection %d closed: %s", session.number, reason)
        self._close_session_sockets(session)

    def _close_session_sockets(self, session: _Session) -> None:
        _close(session.command)
        _close(session.events)

    # ---- reading and writing -------------------------------------------------------------

    def _recv_exact(
        self,
        sock: socket.socket,
        size: int,
        idle_ok: bool,
        timeout: float,
        session: _Session | None,
    ) -> bytes:
        """`size` bytes; waits forever while idle_ok and nothing has arrived, else `timeout`."""
        buf = bytearray()
        deadline = None if idle_ok else time.monotonic() + timeout
        while len(buf) < size:
            if self._stop.is_set() or (session is not None and self._session is not session):
                raise _Closed("session over")
            if deadline is None and buf:
                deadline = time.monotonic() + timeout
            if deadline is not None and time.monotonic() > deadline:
                raise _Closed("timed out in the middle of a packet")
            try:
                chunk = sock.recv(size - len(buf))
            except TimeoutError:
                continue
            if not chunk:
                raise _Closed("peer closed the connection")
            buf += chunk
            # libgphoto2 writes a request and its data phase in separate small packets; with
            # Nagle on its side, a delayed ACK here would cost ~40 ms per SetDevicePropValue.
            _quickack(sock)
        return bytes(buf)

    def _read_packet(
        self,
        sock: socket.socket,
        idle_ok: bool,
        timeout: float = PACKET_TIMEOUT_S,
        session: _Session | None = None,
    ) -> tuple[int, bytes]:
        header = self._recv_exact(sock, ptpip.HEADER_SIZE, idle_ok, timeout, session)
        length, kind = ptpip.parse_header(header)
        if length > ptpip.MAX_INCOMING_PACKET:
            raise ptpip.FramingError(f"incoming packet of {length} bytes")
        payload = self._recv_exact(sock, length, False, PACKET_TIMEOUT_S, session)
        return kind, payload

    def _send(self, sock: socket.socket, data: bytes) -> None:
        sock.settimeout(SEND_TIMEOUT_S)
        try:
            sock.sendall(data)
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(POLL_S)

    def _wait_thawed(self, session: _Session | None) -> bool:
        """Block while frozen; False if the server stops or the session ends meanwhile."""
        while not self._thawed.wait(POLL_S):
            if self._stop.is_set() or (session is not None and self._session is not session):
                return False
        return not self._stop.is_set()

    # ---- the command connection ----------------------------------------------------------

    def _command_loop(self, session: _Session) -> None:
        sock = session.command
        while True:
            kind, payload = self._read_packet(sock, idle_ok=True, session=session)
            self.last_activity = time.monotonic()
            if kind == ptpip.PING:
                self._send(sock, ptpip.packet(ptpip.PONG))
                continue
            if kind != ptpip.OPERATION_REQUEST:
                log.debug("ignoring packet of type %d on the command connection", kind)
                continue
            request = ptpip.parse_operation_request(payload)
            data = None
            if request.dataphase == ptpip.DATAPHASE_OUT:
                data = self._read_data_phase(sock, session)
            if not self._wait_thawed(session):
                raise _Closed("session over while frozen")
            reply = self.camera.handle(request, data)
            log.debug(
                "op 0x%04x %s tid %d -> %s",
                request.code,
                request.params,
                request.transaction_id,
                "stall" if reply.stall else RESPONSE_NAMES.get(reply.code, hex(reply.code)),
            )
            if not reply.stall:
                self._send_reply(session, request, reply)

    def _read_data_phase(self, sock: socket.socket, session: _Session) -> bytes:
        kind, payload = self._read_packet(sock, idle_ok=False, session=session)
        if kind != ptpip.START_DATA:
            raise ptpip.FramingError(f"expected Start_Data, got packet type {kind}")
        _, total = ptpip.parse_start_data(payload)
        if total > MAX_DATA_PHASE:
            raise ptpip.FramingError(f"data phase of {total} bytes")
        if total == 0:
            # libgphoto2 sends no Data packet after Start_Data(0) (a property put with type 0,
            # e.g. Sony capturetarget in config.c): the response is expected next.
            return b""
        data = bytearray()
        while True:
            kind, payload = self._read_packet(sock, idle_ok=False, session=session)
            if kind not in (ptpip.DATA, ptpip.END_DATA):
                raise ptpip.FramingError(f"expected Data, got packet type {kind}")
            data += ptpip.parse_data_packet(payload)[1]
            if len(data) > MAX_DATA_PHASE:
                raise ptpip.FramingError("data phase longer than announced")
            if kind == ptpip.END_DATA:
                return bytes(data)

    def _send_reply(self, session: _Session, request: ptpip.OperationRequest, reply: Reply) -> None:
        sock = session.command
        tid = request.transaction_id
        response = ptpip.operation_response(reply.code, tid, reply.params)
        if reply.data is None:
            self._send(sock, response)
            return
        if reply.drop_after is not None:
            # drop-next-transfer: announce the whole object, deliver part of it, hang up.
            start = ptpip.start_data(tid, len(reply.data))
            part = ptpip.data_packet(tid, reply.data[: reply.drop_after], last=False)
            self._send(sock, start + part)
            raise _Closed("dropped mid-transfer (drop-next-transfer)")
        packets = list(ptpip.data_phase(tid, reply.data))
        if len(reply.data) <= ONE_WRITE_LIMIT:
            # One write per reply: with TCP_NODELAY an operation takes ~1 ms, not ~40 ms.
            self._send(sock, b"".join(packets) + response)
            return
        for piece in packets[:-1]:
            self._send(sock, piece)
        self._send(sock, packets[-1] + response)

    # ---- the event connection ------------------------------------------------------------

    def _event_loop(self) -> None:
        while not self._stop.is_set():
            try:
                code, tid, params = self._events.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if not self._wait_thawed(None):
                return
            session = self._session
            if session is None or session.events is None:
                log.debug("event 0x%04x dropped: no event connection", code)
                continue
            try:
                self._send(session.events, ptpip.event(code, tid, params))
                log.debug("event 0x%04x %s", code, params)
            except OSError as exc:
                self._end_session(session, f"event connection failed: {exc}")

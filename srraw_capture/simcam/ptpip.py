"""PTP/IP framing (CIPA DC-005): pure functions that pack and unpack packets, no sockets.

Every packet is `u32 length, u32 type, payload`, little-endian, length counting the header.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

HEADER = struct.Struct("<II")
HEADER_SIZE = HEADER.size

INIT_COMMAND_REQUEST = 1
INIT_COMMAND_ACK = 2
INIT_EVENT_REQUEST = 3
INIT_EVENT_ACK = 4
INIT_FAIL = 5
OPERATION_REQUEST = 6
OPERATION_RESPONSE = 7
EVENT = 8
START_DATA = 9
DATA = 10
CANCEL = 11
END_DATA = 12
PING = 13
PONG = 14

PROTOCOL_VERSION = 0x00010000  # major 1, minor 0

# Operation_Request's data-phase field: what the initiator says comes after the request.
DATAPHASE_NONE_OR_IN = 1  # no data, or data from the responder
DATAPHASE_OUT = 2  # the initiator sends data (SetDevicePropValue)

# The largest packet we accept from an initiator: requests and property values are tiny.
MAX_INCOMING_PACKET = 1 << 20


class FramingError(ValueError):
    """A packet that does not follow PTP/IP framing."""


@dataclass(frozen=True)
class OperationRequest:
    dataphase: int
    code: int
    transaction_id: int
    params: tuple[int, ...]

    def param(self, index: int, default: int = 0) -> int:
        """Parameter `index` (0-based), or `default` when the initiator did not send it."""
        return self.params[index] if index < len(self.params) else default


def packet(kind: int, payload: bytes = b"") -> bytes:
    """One packet: header then payload."""
    return HEADER.pack(HEADER_SIZE + len(payload), kind) + payload


def parse_header(header: bytes) -> tuple[int, int]:
    """(payload length, packet type) of an 8-byte header."""
    if len(header) != HEADER_SIZE:
        raise FramingError(f"header of {len(header)} bytes")
    length, kind = HEADER.unpack(header)
    if length < HEADER_SIZE:
        raise FramingError(f"packet length {length} is shorter than its header")
    return length - HEADER_SIZE, kind


def _ucs2z(text: str) -> bytes:
    """NUL-terminated UCS-2LE, as the Init packets carry names."""
    return text.encode("utf-16-le") + b"\0\0"


def _read_ucs2z(payload: bytes, offset: int) -> tuple[str, int]:
    end = offset
    while end + 1 < len(payload) and payload[end : end + 2] != b"\0\0":
        end += 2
    if end + 1 >= len(payload):
        raise FramingError("unterminated UCS-2 name")
    return payload[offset:end].decode("utf-16-le", errors="replace"), end + 2


@dataclass(frozen=True)
class InitCommandRequest:
    guid: bytes
    name: str
    version: int


def parse_init_command_request(payload: bytes) -> InitCommandRequest:
    """GUID (16 bytes), friendly name (UCS-2, NUL-terminated), protocol version."""
    if len(payload) < 16 + 2:
        raise FramingError("Init_Command_Request too short")
    name, offset = _read_ucs2z(payload, 16)
    version = struct.unpack_from("<I", payload, offset)[0] if len(payload) >= offset + 4 else 0
    return InitCommandRequest(bytes(payload[:16]), name, version)


def init_command_ack(connection: int, guid: bytes, name: str) -> bytes:
    """The responder's answer: connection number, its GUID, its name, protocol version."""
    if len(guid) != 16:
        raise ValueError("a PTP/IP GUID has 16 bytes")
    return packet(
        INIT_COMMAND_ACK,
        struct.pack("<I", connection) + guid + _ucs2z(name) + struct.pack("<I", PROTOCOL_VERSION),
    )


def parse_init_event_request(payload: bytes) -> int:
    """The connection number the event connection belongs to."""
    if len(payload) < 4:
        raise FramingError("Init_Event_Request too short")
    return struct.unpack_from("<I", payload)[0]


def init_event_ack() -> bytes:
    return packet(INIT_EVENT_ACK)


def init_fail(reason: int = 1) -> bytes:
    """Refuse a connection (reason 1: rejected by the responder)."""
    return packet(INIT_FAIL, struct.pack("<I", reason))


def parse_operation_request(payload: bytes) -> OperationRequest:
    """u32 data phase, u16 code, u32 transaction id, up to five u32 parameters."""
    if len(payload) < 10:
        raise FramingError("Operation_Request too short")
    dataphase, code, tid = struct.unpack_from("<IHI", payload)
    count = min((len(payload) - 10) // 4, 5)
    params = struct.unpack_from(f"<{count}I", payload, 10) if count else ()
    return OperationRequest(dataphase, code, tid, tuple(params))


def operation_request(
    code: int, transaction_id: int, params: tuple[int, ...] = (), dataphase: int = 1
) -> bytes:
    """An Operation_Request, as an initiator sends it (for tests and tools)."""
    return packet(
        OPERATION_REQUEST,
        struct.pack("<IHI", dataphase, code, transaction_id)
        + struct.pack(f"<{len(params)}I", *params),
    )


def operation_response(code: int, transaction_id: int, params: tuple[int, ...] = ()) -> bytes:
    """u16 response code, u32 transaction id, up to five u32 parameters."""
    if len(params) > 5:
        raise ValueError("a response has at most five parameters")
    return packet(
        OPERATION_RESPONSE,
        struct.pack("<HI", code, transaction_id) + struct.pack(f"<{len(params)}I", *params),
    )


def event(code: int, transaction_id: int, params: tuple[int, ...] = ()) -> bytes:
    """An Event packet: u16 code, u32 transaction id, up to three u32 parameters."""
    if len(params) > 3:
        raise ValueError("an event has at most three parameters")
    return packet(
        EVENT, struct.pack("<HI", code, transaction_id) + struct.pack(f"<{len(params)}I", *params)
    )


def start_data(transaction_id: int, total_length: int) -> bytes:
    """Start_Data: transaction id and the u64 length of the whole data phase."""
    return packet(START_DATA, struct.pack("<IQ", transaction_id, total_length))


def parse_start_data(payload: bytes) -> tuple[int, int]:
    """(transaction id, total length); libgphoto2 sends the length as u32 + u32 zero."""
    if len(payload) < 8:
        raise FramingError("Start_Data too short")
    tid, low = struct.unpack_from("<II", payload)
    high = struct.unpack_from("<I", payload, 8)[0] if len(payload) >= 12 else 0
    return tid, low | high << 32


def data_packet(transaction_id: int, chunk: bytes | memoryview, last: bool) -> bytes:
    """Data (or End_Data when `last`): transaction id, then a piece of the data phase."""
    return packet(END_DATA if last else DATA, struct.pack("<I", transaction_id) + bytes(chunk))


def parse_data_packet(payload: bytes) -> tuple[int, bytes]:
    """(transaction id, chunk) of a Data or End_Data packet."""
    if len(payload) < 4:
        raise FramingError("Data packet too short")
    return struct.unpack_from("<I", payload)[0], payload[4:]


def data_phase(transaction_id: int, data: bytes, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Start_Data, then Data packets, the last one End_Data (which may be the only one)."""
    yield start_data(transaction_id, len(data))
    view = memoryview(data)
    offset = 0
    while True:
        chunk = view[offset : offset + chunk_size]
        offset += len(chunk)
        last = offset >= len(data)
        yield data_packet(transaction_id, chunk, last)
        if last:
            return

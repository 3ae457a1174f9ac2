"""Exchange-format logs: SMTP protocol logs (docs/exchange-reference.md §7) and message tracking
(docs/exchange-reference.md §8).

A pure layer: records, their CSV lines and the stores that keep them (in memory, and in
Exchange's folder layout when given a root). No Twisted, no OpenSSL, no clock reads.
"""

from labsim.logs.protocol_log import (
    NULL_SESSION,
    PROTOCOL_LOG_FIELDS,
    PROTOCOL_LOG_VERSION,
    CertificateLabel,
    NullProtocolLogSession,
    ProtocolLog,
    ProtocolLogDirection,
    ProtocolLogEvent,
    ProtocolLogRecord,
    ProtocolLogSession,
    ProtocolLogSink,
    ProtocolLogStore,
    SessionIdAllocator,
    TransportService,
    format_endpoint,
    protocol_log_header,
    receive_connector_id,
    send_connector_id,
)
from labsim.logs.tracking import (
    TRACKING_LOG_FIELDS,
    TRACKING_LOG_VERSION,
    Directionality,
    TrackingEventId,
    TrackingLog,
    TrackingRecord,
    TrackingSource,
    tracking_log_header,
)

__all__ = [
    "NULL_SESSION",
    "PROTOCOL_LOG_FIELDS",
    "PROTOCOL_LOG_VERSION",
    "TRACKING_LOG_FIELDS",
    "TRACKING_LOG_VERSION",
    "CertificateLabel",
    "Directionality",
    "NullProtocolLogSession",
    "ProtocolLog",
    "ProtocolLogDirection",
    "ProtocolLogEvent",
    "ProtocolLogRecord",
    "ProtocolLogSession",
    "ProtocolLogSink",
    "ProtocolLogStore",
    "SessionIdAllocator",
    "TrackingEventId",
    "TrackingLog",
    "TrackingRecord",
    "TrackingSource",
    "TransportService",
    "format_endpoint",
    "protocol_log_header",
    "receive_connector_id",
    "send_connector_id",
    "tracking_log_header",
]

//! The metric names, one place so that dashboards and tests agree.

/// Server: requests handled, by `service` and `method`.
pub const SERVER_REQUESTS: &str = "fastrpc_server_requests_total";
/// Server: failed requests, by `service`, `method` and `kind`.
pub const SERVER_ERRORS: &str = "fastrpc_server_errors_total";
/// Server: requests running now, by `service` and `method`.
pub const SERVER_IN_FLIGHT: &str = "fastrpc_server_in_flight_requests";
/// Server: handler latency histogram in seconds, by `service` and `method`.
pub const SERVER_DURATION: &str = "fastrpc_server_request_duration_seconds";
/// Server: connections open now.
pub const SERVER_CONNECTIONS_OPEN: &str = "fastrpc_server_connections_open";
/// Server: connections accepted since start.
pub const SERVER_CONNECTIONS_ACCEPTED: &str = "fastrpc_server_connections_accepted_total";
/// Server: frame bytes received (payloads before decompression is undone: as decoded).
pub const SERVER_BYTES_RECEIVED: &str = "fastrpc_server_received_bytes_total";
/// Server: frame bytes of replies sent (payloads before compression).
pub const SERVER_BYTES_SENT: &str = "fastrpc_server_sent_bytes_total";
/// Server: per-connection frame bytes received, observed when the connection closes.
pub const SERVER_CONNECTION_BYTES_RECEIVED: &str = "fastrpc_server_connection_received_bytes";
/// Server: per-connection frame bytes sent, observed when the connection closes.
pub const SERVER_CONNECTION_BYTES_SENT: &str = "fastrpc_server_connection_sent_bytes";

/// Client: calls made, by `service` and `method`.
pub const CLIENT_REQUESTS: &str = "fastrpc_client_requests_total";
/// Client: failed calls, by `service`, `method` and `kind`.
pub const CLIENT_ERRORS: &str = "fastrpc_client_errors_total";
/// Client: calls waiting for their reply now, by `service` and `method`.
pub const CLIENT_IN_FLIGHT: &str = "fastrpc_client_in_flight_requests";
/// Client: call latency histogram in seconds, by `service` and `method`.
pub const CLIENT_DURATION: &str = "fastrpc_client_request_duration_seconds";

/// The `service` and `method` label of requests whose service or method is not registered
/// (so that peers cannot create label series by inventing names).
pub const UNKNOWN: &str = "unknown";

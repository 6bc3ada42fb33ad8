//! Connections to Redis: the first reachable host, commands with a deadline, and backoff.

use crate::RedisOptions;
use fastrpc_discovery::RegistryError;
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo,
};
use std::time::Duration;

/// A Redis client for `host` with the options' database and credentials.
pub(crate) fn client_for(opts: &RedisOptions, host: &str) -> Result<Client, RegistryError> {
    let (name, port) = host
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
        .unwrap_or((host, 6379));
    let mut redis = RedisConnectionInfo::default().set_db(opts.db);
    if let Some(user) = &opts.username {
        redis = redis.set_username(user);
    }
    if let Some(password) = &opts.password {
        redis = redis.set_password(password);
    }
    let info = ConnectionAddr::Tcp(name.to_owned(), port)
        .into_connection_info()
        .map_err(backend)?
        .set_redis_settings(redis);
    Client::open(info).map_err(backend)
}

/// Connects to the first host that answers; returns its client (for pub/sub) too.
pub(crate) async fn connect(
    opts: &RedisOptions,
) -> Result<(Client, MultiplexedConnection), RegistryError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(opts.timeout))
        .set_response_timeout(Some(opts.timeout));
    let mut last = RegistryError::Unavailable("no Redis host".into());
    for host in &opts.hosts {
        let client = client_for(opts, host)?;
        let attempt = tokio::time::timeout(
            opts.timeout,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        match attempt {
            Ok(Ok(conn)) => return Ok((client, conn)),
            Ok(Err(e)) => last = error(e),
            Err(_) => last = RegistryError::Unavailable(format!("{host}: connect timed out")),
        }
    }
    Err(last)
}

/// Runs `cmd` on `conn` within `timeout`.
pub(crate) async fn query<T: redis::FromRedisValue>(
    conn: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
    timeout: Duration,
) -> Result<T, RegistryError> {
    match tokio::time::timeout(timeout, cmd.query_async::<T>(conn)).await {
        Ok(result) => result.map_err(error),
        Err(_) => Err(RegistryError::Unavailable("Redis command timed out".into())),
    }
}

/// Runs `pipe` on `conn` within `timeout`.
pub(crate) async fn query_pipe<T: redis::FromRedisValue>(
    conn: &mut MultiplexedConnection,
    pipe: &redis::Pipeline,
    timeout: Duration,
) -> Result<T, RegistryError> {
    match tokio::time::timeout(timeout, pipe.query_async::<T>(conn)).await {
        Ok(result) => result.map_err(error),
        Err(_) => Err(RegistryError::Unavailable("Redis command timed out".into())),
    }
}

/// Maps a Redis error: I/O and connection trouble is `Unavailable`, the rest `Backend`.
pub(crate) fn error(e: redis::RedisError) -> RegistryError {
    if e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
    {
        RegistryError::Unavailable(e.to_string())
    } else {
        RegistryError::Backend(e.to_string())
    }
}

fn backend(e: redis::RedisError) -> RegistryError {
    RegistryError::Backend(e.to_string())
}

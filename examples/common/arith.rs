//! rpcx's classic example services, shared by the examples: `Arith` (`Mul`, `Add`, `Error`)
//! on `{A, B}` giving `{C}`, and `Echo.Echo` (raw bytes back unchanged). Field names are Go's,
//! so Go rpcx clients and servers interoperate with these.

use fastrpc::{Context, Raw, ServiceError};
use serde::{Deserialize, Serialize};

/// The arguments, `{A, B}` as Go writes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Args {
    /// First operand.
    #[serde(rename = "A")]
    pub(crate) a: i64,
    /// Second operand.
    #[serde(rename = "B")]
    pub(crate) b: i64,
}

/// The reply, `{C}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Reply {
    /// The result.
    #[serde(rename = "C")]
    pub(crate) c: i64,
}

/// The `Arith` service.
pub(crate) struct Arith;

#[fastrpc::service]
impl Arith {
    /// `Arith.Mul`: `C = A * B`.
    async fn mul(&self, args: Args) -> Reply {
        Reply {
            c: args.a.wrapping_mul(args.b),
        }
    }

    /// `Arith.Add`: `C = A + B`.
    async fn add(&self, args: Args) -> Reply {
        Reply {
            c: args.a.wrapping_add(args.b),
        }
    }

    /// `Arith.Error`: always fails, and sends `{C: 0}` along, as the Go test service does.
    async fn error(&self, _ctx: &Context, args: Args) -> Result<Reply, ServiceError> {
        Err(ServiceError::with_reply(
            format!("intentional error: A={} B={}", args.a, args.b),
            Reply { c: 0 },
        ))
    }
}

/// The `Echo` service.
pub(crate) struct Echo;

#[fastrpc::service]
impl Echo {
    /// `Echo.Echo`: the raw bytes back unchanged.
    async fn echo(&self, payload: Raw) -> Raw {
        payload
    }
}

/// A server offering `Arith` and `Echo`.
#[allow(dead_code)]
pub(crate) fn server() -> fastrpc::Server {
    builder().build()
}

/// A server builder with `Arith` and `Echo`, for examples that add plugins or options.
#[allow(dead_code)] // not every example that includes this file uses it
pub(crate) fn builder() -> fastrpc::server::ServerBuilder {
    fastrpc::Server::builder().service(Arith).service(Echo)
}

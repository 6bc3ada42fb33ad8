//! The reflection service: what a server offers, asked over the wire.
//!
//! Enabled with [`ServerBuilder::reflection`](crate::ServerBuilder::reflection), it registers
//! a service named `Reflection` with the two methods of Go rpcx's `reflection` plugin, under
//! the same names and with the same argument and reply types, so Go clients and tools that
//! call rpcx's plugin call ours unchanged:
//!
//! - `Reflection.GetServices(_: string) -> string`: every registered service;
//! - `Reflection.GetService(name: string) -> string`: one service, or the error
//!   `not found service NAME` (Go's text).
//!
//! Go answers with Go source text (type definitions and method stubs). fastrpc answers with
//! JSON text in the same string: a [`ServiceInfo`] (an array of them for `GetServices`), whose
//! field names are those of Go's `ServiceInfo` and `MethodInfo` (`Name`, `PkgPath`, `Methods`,
//! `ReqName`, `Req`, `ReplyName`, `Reply`) plus `Doc`. `Req` and `Reply` are JSON Schemas
//! rather than Go source: services declared with `#[service(schema)]` carry them, other
//! `#[service]`s carry the type names as written, and services registered by hand with
//! [`ServerBuilder::handler`](crate::ServerBuilder::handler) carry their method names only.
//! `fastrpc describe` prints either kind of answer.
//!
//! The answers are rendered once, when the server is built (services are registered only
//! through the builder), so a call costs one copy of a string the server made itself.

mod info;
mod schema;
mod service;

pub use info::{MethodInfo, ServiceInfo};
#[doc(hidden)]
pub use schema::schema_for;
#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
pub use schema::schemars;
pub(crate) use service::install;
pub use service::{GET_SERVICE, GET_SERVICES, REFLECTION_SERVICE};

//! JSON Schemas of argument and reply types, for `#[service(schema)]`.
//!
//! With the `schema` feature, `schema_for::<T>()` asks `schemars` (the maintained generator of
//! JSON Schemas from Rust types, which reads serde's attributes so the schema matches the
//! JSON on the wire) and requires `T: JsonSchema`. Without it, the function exists so that
//! the generated code names it, but nothing satisfies its bound: the compiler says to enable
//! the feature.

use serde_json::Value;

#[cfg(feature = "schema")]
pub use schemars;

/// The JSON Schema of `T`, for the code `#[service(schema)]` generates.
#[cfg(feature = "schema")]
pub fn schema_for<T: schemars::JsonSchema>() -> Value {
    schemars::schema_for!(T).to_value()
}

/// The bound of `schema_for` without the `schema` feature: implemented by nothing.
#[cfg(not(feature = "schema"))]
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[service(schema)]` needs the `schema` feature of `fastrpc` (or `fastrpc-server`)",
    label = "JSON Schemas are generated only with the `schema` feature"
)]
pub trait SchemaFeatureDisabled {}

/// Without the `schema` feature: does not compile when called (see the module docs).
///
/// ```compile_fail,E0277
/// # #[derive(serde::Serialize)] struct Args;
/// let schema = fastrpc_server::reflection::schema_for::<Args>();
/// ```
#[cfg(not(feature = "schema"))]
#[allow(private_bounds)]
pub fn schema_for<T: SchemaFeatureDisabled>() -> Value {
    Value::Null
}

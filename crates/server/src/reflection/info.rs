//! [`ServiceInfo`] and [`MethodInfo`]: a service as the reflection service describes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One service: its name, where it is defined and its methods.
///
/// Serialized with Go rpcx's field names (`Name`, `PkgPath`, `Methods`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceInfo {
    /// The service name it is registered under (rpcx's service path).
    #[serde(rename = "Name")]
    pub name: String,
    /// The Rust module that declares it (`module_path!()`; Go's package), empty when unknown.
    #[serde(rename = "PkgPath", default, skip_serializing_if = "String::is_empty")]
    pub pkg_path: String,
    /// Its methods, sorted by name.
    #[serde(rename = "Methods", default)]
    pub methods: Vec<MethodInfo>,
}

/// One method: its name, and its argument and reply when known.
///
/// Serialized with Go rpcx's field names (`Name`, `ReqName`, `Req`, `ReplyName`, `Reply`),
/// plus `Doc`; empty names and absent schemas are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MethodInfo {
    /// The rpcx method name (`Mul`).
    #[serde(rename = "Name")]
    pub name: String,
    /// The argument type as the method's source writes it (`Args`, `&str`, `()`), empty when
    /// unknown.
    #[serde(rename = "ReqName", default, skip_serializing_if = "String::is_empty")]
    pub req_name: String,
    /// A JSON Schema of the argument as it travels (with `#[service(schema)]`).
    #[serde(rename = "Req", default, skip_serializing_if = "Option::is_none")]
    pub req: Option<Value>,
    /// The reply type as the method's source writes it (the `Ok` type of a `Result`), empty
    /// when unknown.
    #[serde(
        rename = "ReplyName",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub reply_name: String,
    /// A JSON Schema of the reply as it travels (with `#[service(schema)]`).
    #[serde(rename = "Reply", default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Value>,
    /// The method's doc comment.
    #[serde(rename = "Doc", default, skip_serializing_if = "String::is_empty")]
    pub doc: String,
}

impl ServiceInfo {
    /// A service with these methods.
    pub fn new(
        name: impl Into<String>,
        pkg_path: impl Into<String>,
        methods: Vec<MethodInfo>,
    ) -> ServiceInfo {
        ServiceInfo {
            name: name.into(),
            pkg_path: pkg_path.into(),
            methods,
        }
    }

    /// The method named `name`.
    pub fn method(&self, name: &str) -> Option<&MethodInfo> {
        self.methods.iter().find(|m| m.name == name)
    }
}

impl MethodInfo {
    /// A method known by its name only (a handler registered by hand).
    pub fn named(name: impl Into<String>) -> MethodInfo {
        MethodInfo {
            name: name.into(),
            req_name: String::new(),
            req: None,
            reply_name: String::new(),
            reply: None,
            doc: String::new(),
        }
    }

    /// A method with its argument and reply type names.
    pub fn new(
        name: impl Into<String>,
        req_name: impl Into<String>,
        reply_name: impl Into<String>,
    ) -> MethodInfo {
        MethodInfo {
            req_name: req_name.into(),
            reply_name: reply_name.into(),
            ..MethodInfo::named(name)
        }
    }

    /// Sets the doc comment.
    pub fn with_doc(mut self, doc: impl Into<String>) -> MethodInfo {
        self.doc = doc.into();
        self
    }

    /// Sets the JSON Schemas of the argument and the reply.
    pub fn with_schemas(mut self, req: Value, reply: Value) -> MethodInfo {
        self.req = Some(req);
        self.reply = Some(reply);
        self
    }
}

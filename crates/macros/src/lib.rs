//! `#[service]`: a plain `impl` block of async methods becomes an rpcx service and a typed
//! client; on a trait, it declares a remote service (a Go rpcx one, say) and makes its client.
//!
//! The rules and examples are on [`macro@service`], which the `fastrpc` facade re-exports as
//! `fastrpc::service`.
//!
//! The crate depends only on `syn`, `quote` and `proc-macro2`, the standard parser and code
//! builder of procedural macros.

mod client;
mod describe;
mod server;
mod spec;

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use spec::{MethodSpec, method_spec, take_rpc_attrs};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Error, FnArg, ImplItem, Item, ItemImpl, ItemTrait, Meta, Path, Token, TraitItem, Type};

/// Turns an `impl` block of async methods into an rpcx service, and makes its typed client.
///
/// ```
/// use fastrpc::{Client, Context, Server, ServiceError};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Args { #[serde(rename = "A")] a: i64, #[serde(rename = "B")] b: i64 }
/// #[derive(Serialize, Deserialize)]
/// struct Reply { #[serde(rename = "C")] c: i64 }
///
/// struct Arith;
///
/// #[fastrpc::service]                    // service name: the type name, "Arith"
/// impl Arith {
///     // rpcx method "Mul": the Rust name in PascalCase, as Go names methods.
///     async fn mul(&self, args: Args) -> Reply {
///         Reply { c: args.a * args.b }
///     }
///     // A Context first gives access to metadata, the deadline and server push. Any error
///     // type that implements `Display` will do; a `ServiceError` can carry a reply too.
///     #[rpc(name = "Add")]
///     async fn add_numbers(&self, ctx: &Context, args: Args) -> Result<Reply, ServiceError> {
///         ctx.set_response_metadata("k", "v");
///         Ok(Reply { c: args.a + args.b })
///     }
///     // No argument, and borrowed arguments, are fine.
///     async fn version(&self) -> &'static str { "1.0" }
///     async fn greet(&self, name: &str) -> Result<String, String> {
///         if name.is_empty() { Err("no name".into()) } else { Ok(format!("hello {name}")) }
///     }
///     #[rpc(skip)]
///     async fn not_exported(&self) {}
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let running = Server::builder().service(Arith).build().serve_tcp("127.0.0.1:0").await?;
/// let addr = format!("tcp@{}", running.local_addr());
/// // The generated client: `ArithClient`, over a `Client` (or an `XClient`).
/// let arith = ArithClient::new(Client::connect(&addr).await?);
/// assert_eq!(arith.mul(&Args { a: 7, b: 8 }).await?.c, 56);
/// assert_eq!(arith.greet("ann").await?, "hello ann");
/// assert_eq!(arith.version().await?, "1.0");
/// assert_eq!((ArithClient::<Client>::SERVICE, ArithClient::<Client>::ADD_NUMBERS), ("Arith", "Add"));
/// # running.shutdown(std::time::Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
///
/// **Methods.** Every `async fn` taking `&self` is exported unless marked `#[rpc(skip)]`; other
/// items are left alone. A method takes at most one argument (several go in a struct),
/// optionally after a `ctx: &Context` (or `Context`): `(&self)`, `(&self, args)`,
/// `(&self, ctx)`, `(&self, ctx, args)`. The argument may be owned or borrowed (`&str`, `&[T]`,
/// `&T`: the owned form is decoded and lent to the method). It returns a reply (owned or
/// borrowed, which is copied), nothing, or a `Result` whose error implements `Display` (its
/// text goes to the caller; a `ServiceError` also keeps its reply). Replies and arguments are
/// any `Payload`: serde types, `Raw`, `Proto<T>`. A method without an argument receives `()`
/// (MessagePack `nil`, JSON `null`).
///
/// **Names.** The service is named after the type (`#[service(name = "Other")]` renames it);
/// a method after its Rust name in PascalCase (`get_user` is `GetUser`), or
/// `#[rpc(name = "..")]`.
///
/// **The client.** `ArithClient<C = Client>` (the type name plus `Client`, with the type's
/// visibility being `pub`) has one async method per service method, taking the argument by
/// reference and returning `Result<Reply, C::Error>`; `m_with(args, CallOptions)` sets a timeout,
/// metadata or the serialize type for one call and returns the reply with its metadata. It
/// calls through any [`Call`](../fastrpc/client/trait.Call.html): a `Client`, an `XClient`
/// (whose service path must be the service's). Constants name the service (`SERVICE`) and each
/// method (`MUL`: the Rust name in capitals).
///
/// **A remote service.** On a trait, `#[service]` generates only the client (the trait itself
/// is not kept): declare a Go rpcx service by its methods, no Rust server needed.
///
/// ```no_run
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Args { a: i64 }
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Reply { c: i64 }
/// #[fastrpc::service(name = "Arith")]
/// trait GoArith {
///     async fn mul(&self, args: Args) -> Reply;   // Go's `Arith.Mul`
/// }
/// # async fn demo(client: fastrpc::Client) -> Result<(), fastrpc::ClientError> {
/// let reply = GoArithClient::new(client).mul(&Args { a: 7 }).await?;
/// # Ok(()) }
/// ```
///
/// **Reflection.** The service tells the server's
/// [reflection service](../fastrpc/server/reflection/index.html) (`Server::builder().reflection()`,
/// read by `fastrpc describe`) each method's name, doc comment, and argument and reply types as
/// written. With `#[service(schema)]` (and the `schema` feature of `fastrpc`) it adds a JSON
/// Schema of each argument and reply, generated by `schemars`: those types must then implement
/// `JsonSchema` (`#[derive(fastrpc::schemars::JsonSchema)]` with
/// `#[schemars(crate = "fastrpc::schemars")]`, or derive it from your own `schemars`
/// dependency). Without `schema`, no bound is added.
///
/// **Options.** `#[service(name = "Other")]` renames the service; `client = "Name"` names the
/// client type, `client = false` leaves it out; `schema` records JSON Schemas (above).
/// `#[service(crate = fastrpc_server, client_crate = fastrpc_client)]` points the generated
/// code at those crates when the `fastrpc` facade is not a dependency (without
/// `client_crate`, no client is generated).
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

struct Options {
    name: Option<String>,
    krate: Path,
    client_krate: Option<Path>,
    /// `client = "Name"` names the client type; `client = false` skips it.
    client_name: Option<Option<String>>,
    /// `schema`: record JSON Schemas of arguments and replies for reflection.
    schema: bool,
}

fn options(attr: proc_macro2::TokenStream) -> syn::Result<Options> {
    let mut out = Options {
        name: None,
        krate: syn::parse_quote!(::fastrpc::server),
        client_krate: Some(syn::parse_quote!(::fastrpc::client)),
        client_name: None,
        schema: false,
    };
    let mut krate_set = false;
    let mut client_set = false;
    for meta in Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)? {
        match &meta {
            Meta::Path(p) if p.is_ident("schema") => out.schema = true,
            Meta::NameValue(nv) if nv.path.is_ident("name") => out.name = Some(lit_str(&nv.value)?),
            Meta::NameValue(nv) if nv.path.is_ident("crate") => {
                out.krate = path_value(&nv.value)?;
                krate_set = true;
            }
            Meta::NameValue(nv) if nv.path.is_ident("client") => {
                out.client_name = Some(match &nv.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Bool(b),
                        ..
                    }) if !b.value => None,
                    other => Some(lit_str(other).map_err(|_| {
                        Error::new(
                            other.span(),
                            "expected `client = \"Name\"` or `client = false`",
                        )
                    })?),
                });
            }
            Meta::NameValue(nv) if nv.path.is_ident("client_crate") => {
                out.client_krate = Some(path_value(&nv.value)?);
                client_set = true;
            }
            other => {
                return Err(Error::new(
                    other.span(),
                    "expected `name = \"..\"`, `client = \"..\"`, `client = false`, `crate = path`, \
                     `client_crate = path` or `schema`",
                ));
            }
        }
    }
    if krate_set && !client_set {
        out.client_krate = None;
    }
    Ok(out)
}

fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let opts = options(attr)?;
    match syn::parse2::<Item>(item)? {
        Item::Impl(imp) => expand_impl(opts, imp),
        Item::Trait(tr) => expand_trait(opts, tr),
        other => Err(Error::new(
            other.span(),
            "#[service] goes on an inherent `impl` block (a service) or a trait (a remote service's client)",
        )),
    }
}

fn expand_impl(opts: Options, mut imp: ItemImpl) -> syn::Result<proc_macro2::TokenStream> {
    if let Some((_, path, _)) = &imp.trait_ {
        return Err(Error::new(
            path.span(),
            "#[service] goes on an inherent impl block, not a trait impl",
        ));
    }
    let type_ident = match &*imp.self_ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    };
    let Some(type_ident) = type_ident else {
        return Err(Error::new(
            imp.self_ty.span(),
            "cannot name this service; use #[service(name = \"..\")]",
        ));
    };
    let service_name = opts.name.unwrap_or_else(|| type_ident.to_string());
    let mut specs = Vec::new();
    for item in &mut imp.items {
        let ImplItem::Fn(f) = item else { continue };
        let rpc = take_rpc_attrs(&mut f.attrs)?;
        if rpc.skip || !exported(&f.sig)? {
            continue;
        }
        specs.push(method_spec(&f.sig, rpc, &f.attrs)?);
    }
    check_found(&specs)?;
    let describe = describe::describe_fn(&opts.krate, &service_name, &specs, opts.schema);
    let service = server::service_impl(&imp, &opts.krate, &service_name, &specs, describe);
    let client_ident = match &opts.client_name {
        None => Some(format_ident!("{}Client", type_ident)),
        Some(Some(name)) => Some(format_ident!("{}", name)),
        Some(None) => None,
    };
    let client = match (&opts.client_krate, client_ident) {
        (Some(ck), Some(ident)) => {
            client::client(&syn::parse_quote!(pub), &ident, ck, &service_name, &specs)?
        }
        _ => quote!(),
    };
    Ok(quote! {
        #imp
        #service
        #client
    })
}

fn expand_trait(opts: Options, mut tr: ItemTrait) -> syn::Result<proc_macro2::TokenStream> {
    let Some(ck) = &opts.client_krate else {
        return Err(Error::new(
            tr.ident.span(),
            "#[service] on a trait makes a client: add `client_crate = path`",
        ));
    };
    if opts.schema {
        return Err(Error::new(
            tr.ident.span(),
            "`schema` describes a service this program serves; on a trait, #[service] only makes a client",
        ));
    }
    let service_name = opts.name.unwrap_or_else(|| tr.ident.to_string());
    let mut specs = Vec::new();
    for item in &mut tr.items {
        let TraitItem::Fn(f) = item else { continue };
        let rpc = take_rpc_attrs(&mut f.attrs)?;
        if rpc.skip || !exported(&f.sig)? {
            continue;
        }
        specs.push(method_spec(&f.sig, rpc, &f.attrs)?);
    }
    check_found(&specs)?;
    let client_ident = match &opts.client_name {
        None => format_ident!("{}Client", tr.ident),
        Some(Some(name)) => format_ident!("{}", name),
        Some(None) => {
            return Err(Error::new(
                tr.ident.span(),
                "#[service] on a trait only makes a client: `client = false` leaves nothing",
            ));
        }
    };
    client::client(&tr.vis, &client_ident, ck, &service_name, &specs)
}

/// True for an `async fn(&self, ..)`; an error for a method that looks meant to be exported
/// but breaks a rule.
fn exported(sig: &syn::Signature) -> syn::Result<bool> {
    let by_ref_self = matches!(
        sig.inputs.first(),
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none()
    );
    if sig.asyncness.is_none() || !by_ref_self {
        return Ok(false); // a helper, not a service method
    }
    if !sig.generics.params.is_empty() {
        return Err(Error::new(
            sig.generics.span(),
            format!(
                "service method `{}` cannot be generic: its argument and reply types must be \
                 known to decode them; mark it #[rpc(skip)] if it is a helper",
                sig.ident
            ),
        ));
    }
    Ok(true)
}

fn check_found(specs: &[MethodSpec]) -> syn::Result<()> {
    if specs.is_empty() {
        return Err(Error::new(
            Span::call_site(),
            "#[service] found no method to export: a service method is an `async fn` taking \
             `&self` (and at most one argument, optionally after a `ctx: &Context`)",
        ));
    }
    Ok(())
}

fn lit_str(e: &syn::Expr) -> syn::Result<String> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Ok(s.value()),
        other => Err(Error::new(other.span(), "expected a string literal")),
    }
}

fn path_value(e: &syn::Expr) -> syn::Result<Path> {
    match e {
        syn::Expr::Path(p) => Ok(p.path.clone()),
        other => syn::parse_str(&lit_str(other)?),
    }
}

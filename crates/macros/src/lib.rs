//! `#[service]`: a plain `impl` block of async methods becomes an rpcx service.
//!
//! ```ignore
//! use fastrpc::server::{Context, ServiceError};
//!
//! struct Arith;
//!
//! #[fastrpc::service]                    // service name: the type name, "Arith"
//! impl Arith {
//!     // rpcx method "Mul": the Rust name in PascalCase, as Go names methods.
//!     async fn mul(&self, args: Args) -> Result<Reply, ServiceError> {
//!         Ok(Reply { c: args.a * args.b })
//!     }
//!     // A Context first gives access to metadata, the deadline and server push;
//!     // a plain return type means the method cannot fail.
//!     #[rpc(name = "Add")]
//!     async fn add_numbers(&self, ctx: &Context, args: Args) -> Reply {
//!         ctx.set_response_metadata("k", "v");
//!         Reply { c: args.a + args.b }
//!     }
//!     #[rpc(skip)]
//!     async fn not_exported(&self) {}
//! }
//! ```
//!
//! Every `async fn` taking `&self` is exported unless marked `#[rpc(skip)]`; other items are
//! left alone. Arguments: `(&self, args)` or `(&self, ctx, args)` with `ctx: Context` or
//! `ctx: &Context`. Attribute options: `#[service(name = "Other")]` renames the service, and
//! `#[service(crate = fastrpc_server)]` points the generated code at the server crate when the
//! `fastrpc` facade is not a dependency.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Error, FnArg, ImplItem, ItemImpl, Meta, Path, ReturnType, Token, Type};

/// Turns an `impl` block into a fastrpc service (see the crate docs).
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

struct MethodSpec {
    rpc_name: String,
    ident: syn::Ident,
    ctx: Option<bool>, // Some(true) = &Context, Some(false) = Context
    arg_ty: Type,
    returns_result: bool,
}

fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let mut imp: ItemImpl = syn::parse2(item)?;
    let mut service_name: Option<String> = None;
    let mut krate: Path = syn::parse_quote!(::fastrpc::server);
    let args = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    for meta in args {
        match &meta {
            Meta::NameValue(nv) if nv.path.is_ident("name") => {
                service_name = Some(lit_str(&nv.value)?)
            }
            Meta::NameValue(nv) if nv.path.is_ident("crate") => {
                krate = match &nv.value {
                    syn::Expr::Path(p) => p.path.clone(),
                    other => syn::parse_str(&lit_str(other)?)?,
                }
            }
            other => {
                return Err(Error::new(
                    other.span(),
                    "expected `name = \"..\"` or `crate = path`",
                ));
            }
        }
    }
    if let Some((_, path, _)) = &imp.trait_ {
        return Err(Error::new(
            path.span(),
            "#[service] goes on an inherent impl block, not a trait impl",
        ));
    }
    let self_ty = imp.self_ty.clone();
    let service_name = match service_name {
        Some(n) => n,
        None => match &*self_ty {
            Type::Path(p) => p
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default(),
            other => {
                return Err(Error::new(
                    other.span(),
                    "cannot name this service; use #[service(name = \"..\")]",
                ));
            }
        },
    };

    let mut specs = Vec::new();
    for item in &mut imp.items {
        let ImplItem::Fn(f) = item else { continue };
        let mut rpc_name = None;
        let mut skip = false;
        let mut keep = Vec::new();
        for a in f.attrs.drain(..) {
            if a.path().is_ident("rpc") {
                a.parse_nested_meta(|m| {
                    if m.path.is_ident("skip") {
                        skip = true;
                        Ok(())
                    } else if m.path.is_ident("name") {
                        let v: syn::LitStr = m.value()?.parse()?;
                        rpc_name = Some(v.value());
                        Ok(())
                    } else {
                        Err(m.error("expected `name = \"..\"` or `skip`"))
                    }
                })?;
            } else {
                keep.push(a);
            }
        }
        f.attrs = keep;
        if skip || f.sig.asyncness.is_none() {
            continue;
        }
        let mut inputs = f.sig.inputs.iter();
        match inputs.next() {
            Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
            _ => continue, // not a `&self` method: not exported
        }
        let rest: Vec<&syn::PatType> = inputs
            .map(|a| match a {
                FnArg::Typed(t) => Ok(t),
                FnArg::Receiver(r) => Err(Error::new(r.span(), "unexpected receiver")),
            })
            .collect::<syn::Result<_>>()?;
        let (ctx, arg_ty) = match rest.as_slice() {
            [arg] => (None, (*arg.ty).clone()),
            [ctx, arg] => (Some(context_kind(&ctx.ty)?), (*arg.ty).clone()),
            _ => {
                return Err(Error::new(
                    f.sig.span(),
                    "a service method takes (&self, args) or (&self, ctx: Context, args)",
                ));
            }
        };
        let returns_result = match &f.sig.output {
            ReturnType::Type(_, ty) => is_result(ty),
            ReturnType::Default => false,
        };
        specs.push(MethodSpec {
            rpc_name: rpc_name.unwrap_or_else(|| pascal_case(&f.sig.ident.to_string())),
            ident: f.sig.ident.clone(),
            ctx,
            arg_ty,
            returns_result,
        });
    }
    if specs.is_empty() {
        return Err(Error::new(
            Span::call_site(),
            "#[service] found no `async fn(&self, ..)` to export",
        ));
    }

    let entries = specs.iter().map(|m| {
        let MethodSpec {
            rpc_name,
            ident,
            ctx,
            arg_ty,
            returns_result,
        } = m;
        let ctx_ident = format_ident!("__ctx");
        let call = match ctx {
            None => quote!(__this.#ident(__args).await),
            Some(true) => quote!(__this.#ident(&#ctx_ident, __args).await),
            Some(false) => quote!(__this.#ident(#ctx_ident, __args).await),
        };
        let body = if *returns_result {
            quote!(#call)
        } else {
            quote!(::std::result::Result::<_, #krate::ServiceError>::Ok(#call))
        };
        let unused_ctx = if ctx.is_none() {
            quote!(let _ = #ctx_ident;)
        } else {
            quote!()
        };
        quote! {
            (
                ::std::string::String::from(#rpc_name),
                {
                    let __svc = ::std::sync::Arc::clone(&self);
                    #krate::handler_fn(move |#ctx_ident: #krate::Context, __args: #arg_ty| {
                        let __this = ::std::sync::Arc::clone(&__svc);
                        async move {
                            #unused_ctx
                            #body
                        }
                    })
                }
            )
        }
    });

    let (impl_generics, _, where_clause) = imp.generics.split_for_impl();
    Ok(quote! {
        #imp

        impl #impl_generics #krate::Service for #self_ty #where_clause {
            fn service_name(&self) -> &str {
                #service_name
            }
            fn methods(self: ::std::sync::Arc<Self>) -> ::std::vec::Vec<(::std::string::String, ::std::sync::Arc<dyn #krate::Handler>)> {
                ::std::vec![#(#entries),*]
            }
        }
    })
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

/// `Context` -> Some(false), `&Context` -> Some(true).
fn context_kind(ty: &Type) -> syn::Result<bool> {
    let (by_ref, inner) = match ty {
        Type::Reference(r) if r.mutability.is_none() => (true, &*r.elem),
        other => (false, other),
    };
    match inner {
        Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Context") => Ok(by_ref),
        other => Err(Error::new(
            other.span(),
            "the first argument after &self must be `Context` or `&Context`",
        )),
    }
}

fn is_result(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Result"))
}

/// `mul` -> `Mul`, `get_user` -> `GetUser` (Go's exported method names).
fn pascal_case(s: &str) -> String {
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::pascal_case;

    #[test]
    fn names_like_go() {
        assert_eq!(pascal_case("mul"), "Mul");
        assert_eq!(pascal_case("get_user_name"), "GetUserName");
        assert_eq!(pascal_case("echo"), "Echo");
    }
}

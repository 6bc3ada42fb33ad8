//! The `describe` method of the generated `impl Service`: what the reflection service tells
//! about each method (name, doc comment, argument and reply types as written, and with
//! `#[service(schema)]` their JSON Schemas).

use crate::spec::{Arg, MethodSpec, respan};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Lit, Meta, Path, Type};

/// `fn describe(&self) -> Option<ServiceInfo>` for the service's methods.
pub(crate) fn describe_fn(
    krate: &Path,
    service_name: &str,
    specs: &[MethodSpec],
    schema: bool,
) -> TokenStream {
    let methods = specs.iter().map(|m| method_info(krate, m, schema));
    quote! {
        fn describe(&self) -> ::std::option::Option<#krate::reflection::ServiceInfo> {
            ::std::option::Option::Some(#krate::reflection::ServiceInfo::new(
                #service_name,
                ::std::module_path!(),
                ::std::vec![#(#methods),*],
            ))
        }
    }
}

/// `MethodInfo::new(..).with_doc(..)`, and `.with_schemas(..)` when asked.
fn method_info(krate: &Path, m: &MethodSpec, schema: bool) -> TokenStream {
    let name = &m.rpc_name;
    let (req_name, req_wire, req_span) = match &m.arg {
        Arg::None => ("()".to_owned(), quote!(()), Span::call_site()),
        Arg::Owned(t) => (type_name(t), quote!(#t), t.span()),
        Arg::Borrowed(t) => (
            format!("&{}", type_name(t)),
            quote!(<#t as ::std::borrow::ToOwned>::Owned),
            t.span(),
        ),
    };
    let ok = &m.output.ok;
    let (reply_name, reply_wire) = if m.output.ok_borrowed {
        (
            format!("&{}", type_name(ok)),
            quote!(<#ok as ::std::borrow::ToOwned>::Owned),
        )
    } else {
        (type_name(ok), quote!(#ok))
    };
    let doc = doc_text(&m.docs);
    let schemas = if schema {
        // Spanned at the types, so a type without `JsonSchema` is named where it is written.
        let req_fn = respan(quote!(#krate::reflection::schema_for), req_span);
        let reply_fn = respan(quote!(#krate::reflection::schema_for), m.output.span);
        quote!(.with_schemas(#req_fn::<#req_wire>(), #reply_fn::<#reply_wire>()))
    } else {
        quote!()
    };
    quote! {
        #krate::reflection::MethodInfo::new(#name, #req_name, #reply_name)
            .with_doc(#doc)
            #schemas
    }
}

/// A type as its source writes it, with the token spacing of `quote` tidied:
/// `Vec<u8>`, `&'static str`, `Result<Vec<u8>, E>`.
pub(crate) fn type_name(ty: &Type) -> String {
    let mut s = quote!(#ty).to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ::", "::"),
        (" ,", ","),
        ("& ", "&"),
        (" ;", ";"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// The doc comment: each `///` line trimmed, joined with newlines.
fn doc_text(docs: &[Attribute]) -> String {
    let lines: Vec<String> = docs
        .iter()
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::type_name;

    #[test]
    fn type_names_read_as_written() {
        let t = |s: &str| type_name(&syn::parse_str(s).unwrap());
        assert_eq!(t("Vec<u8>"), "Vec<u8>");
        assert_eq!(t("&'static str"), "&'static str");
        assert_eq!(t("Result<Vec<u8>, E>"), "Result<Vec<u8>, E>");
        assert_eq!(
            t("std::collections::HashMap<String, (i32, [u8; 4])>"),
            "std::collections::HashMap<String, (i32, [u8; 4])>"
        );
        assert_eq!(t("()"), "()");
    }
}

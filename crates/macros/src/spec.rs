//! Reading the methods of an `impl` block or trait into [`MethodSpec`]s, with errors that name
//! the method and the rule it breaks.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Error, FnArg, GenericArgument, PathArguments, ReturnType, Signature, Type};

/// How the method takes its argument.
pub(crate) enum Arg {
    /// No argument: `()` on the wire.
    None,
    /// An owned argument of this type.
    Owned(Type),
    /// A borrowed argument `&X`: `X::Owned` on the wire, lent to the method.
    Borrowed(Type),
}

/// What the method returns (`T`, `&X`, `Result<T, E>` or nothing).
pub(crate) struct Output {
    /// The success type as the method writes it (`()` when it returns nothing).
    pub(crate) ok: Type,
    /// True when `ok` is a reference `&X` (the reply is `X::Owned`).
    pub(crate) ok_borrowed: bool,
    /// `Some` when the method returns a `Result`: the error type, if written out.
    pub(crate) err: Option<Option<Type>>,
    /// Where the return type is written, for error spans.
    pub(crate) span: Span,
}

/// One exported method.
pub(crate) struct MethodSpec {
    pub(crate) rpc_name: String,
    pub(crate) ident: syn::Ident,
    /// `Some(true)` for `&Context`, `Some(false)` for `Context`.
    pub(crate) ctx: Option<bool>,
    pub(crate) arg: Arg,
    pub(crate) output: Output,
    pub(crate) docs: Vec<Attribute>,
}

/// The `#[rpc(..)]` options of a method, removed from its attributes.
pub(crate) struct RpcAttrs {
    pub(crate) name: Option<String>,
    pub(crate) skip: bool,
}

pub(crate) fn take_rpc_attrs(attrs: &mut Vec<Attribute>) -> syn::Result<RpcAttrs> {
    let mut out = RpcAttrs {
        name: None,
        skip: false,
    };
    let mut keep = Vec::new();
    for a in attrs.drain(..) {
        if !a.path().is_ident("rpc") {
            keep.push(a);
            continue;
        }
        a.parse_nested_meta(|m| {
            if m.path.is_ident("skip") {
                out.skip = true;
                Ok(())
            } else if m.path.is_ident("name") {
                let v: syn::LitStr = m.value()?.parse()?;
                out.name = Some(v.value());
                Ok(())
            } else {
                Err(m.error("expected `#[rpc(name = \"..\")]` or `#[rpc(skip)]`"))
            }
        })?;
    }
    *attrs = keep;
    Ok(out)
}

/// Reads one method's signature. The caller has checked it is an `async fn(&self, ..)`.
pub(crate) fn method_spec(
    sig: &Signature,
    rpc: RpcAttrs,
    attrs: &[Attribute],
) -> syn::Result<MethodSpec> {
    let name = sig.ident.to_string();
    let typed: Vec<&syn::PatType> = sig
        .inputs
        .iter()
        .skip(1)
        .map(|a| match a {
            FnArg::Typed(t) => Ok(t),
            FnArg::Receiver(r) => Err(Error::new(r.span(), "unexpected receiver")),
        })
        .collect::<syn::Result<_>>()?;
    let (ctx, rest) = match typed.split_first() {
        Some((first, rest)) => match context_kind(&first.ty) {
            Some(by_ref) => (Some(by_ref), rest),
            None => (None, typed.as_slice()),
        },
        None => (None, typed.as_slice()),
    };
    let arg = match rest {
        [] => Arg::None,
        [one] => match &*one.ty {
            Type::Reference(r) if r.mutability.is_none() => Arg::Borrowed((*r.elem).clone()),
            Type::Reference(r) => {
                return Err(Error::new(
                    r.span(),
                    format!(
                        "service method `{name}`: the argument cannot be `&mut`; take it by value or as `&T`"
                    ),
                ));
            }
            other => Arg::Owned(other.clone()),
        },
        [_, second, ..] => {
            return Err(Error::new(
                second.span(),
                format!(
                    "service method `{name}` takes {} arguments after `&self`; a service method \
                     takes at most one (put several in a struct), optionally after a \
                     `ctx: &Context`",
                    rest.len()
                ),
            ));
        }
    };
    Ok(MethodSpec {
        rpc_name: rpc.name.unwrap_or_else(|| pascal_case(&name)),
        ident: sig.ident.clone(),
        ctx,
        arg,
        output: output(&sig.output),
        docs: attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .cloned()
            .collect(),
    })
}

/// `Context` -> `Some(false)`, `&Context` -> `Some(true)`, anything else `None`.
fn context_kind(ty: &Type) -> Option<bool> {
    let (by_ref, inner) = match ty {
        Type::Reference(r) if r.mutability.is_none() => (true, &*r.elem),
        other => (false, other),
    };
    match inner {
        Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Context") => {
            Some(by_ref)
        }
        _ => None,
    }
}

fn output(ret: &ReturnType) -> Output {
    let ty = match ret {
        ReturnType::Default => {
            return Output {
                ok: syn::parse_quote!(()),
                ok_borrowed: false,
                err: None,
                span: Span::call_site(),
            };
        }
        ReturnType::Type(_, ty) => &**ty,
    };
    let span = ty.span();
    let (ok, err) = match result_args(ty) {
        Some((ok, err)) => (ok, Some(err)),
        None => (ty.clone(), None),
    };
    let (ok, ok_borrowed) = match ok {
        Type::Reference(r) => ((*r.elem).clone(), true),
        other => (other, false),
    };
    Output {
        ok,
        ok_borrowed,
        err,
        span,
    }
}

/// For `Result<T, E>` (or an alias `io::Result<T>`): `T` and `E` if written.
fn result_args(ty: &Type) -> Option<(Type, Option<Type>)> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    });
    let ok = types.next()?;
    Some((ok, types.next()))
}

/// `tokens` with every token placed at `span`, so that an error about them (a type that is
/// not a `Payload`) points at the user's code rather than at the attribute.
pub(crate) fn respan(tokens: proc_macro2::TokenStream, span: Span) -> proc_macro2::TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect()
}

/// `mul` -> `Mul`, `get_user` -> `GetUser` (Go's exported method names).
pub(crate) fn pascal_case(s: &str) -> String {
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

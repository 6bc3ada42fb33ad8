//! The `impl Service` generated for an `impl` block.

use crate::spec::{Arg, MethodSpec};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{ItemImpl, Path};

pub(crate) fn service_impl(
    imp: &ItemImpl,
    krate: &Path,
    service_name: &str,
    specs: &[MethodSpec],
    describe: TokenStream,
) -> TokenStream {
    let self_ty = &imp.self_ty;
    let entries = specs.iter().map(|m| handler_entry(m, krate));
    let (impl_generics, _, where_clause) = imp.generics.split_for_impl();
    let helpers = error_conversion(krate);
    quote! {
        impl #impl_generics #krate::Service for #self_ty #where_clause {
            fn service_name(&self) -> &str {
                #service_name
            }
            fn methods(self: ::std::sync::Arc<Self>) -> ::std::vec::Vec<(::std::string::String, ::std::sync::Arc<dyn #krate::Handler>)> {
                #helpers
                ::std::vec![#(#entries),*]
            }
            #describe
        }
    }
}

/// `("Mul", handler_fn(..))` for one method.
fn handler_entry(m: &MethodSpec, krate: &Path) -> TokenStream {
    let MethodSpec {
        rpc_name,
        ident,
        ctx,
        arg,
        output,
        ..
    } = m;
    let ctx_ident = format_ident!("__ctx");
    let ctx_arg = match ctx {
        None => quote!(),
        Some(true) => quote!(&#ctx_ident,),
        Some(false) => quote!(#ctx_ident,),
    };
    let arg_span = match arg {
        Arg::None => proc_macro2::Span::call_site(),
        Arg::Owned(t) | Arg::Borrowed(t) => syn::spanned::Spanned::span(t),
    };
    let handler_fn = crate::spec::respan(quote!(#krate::handler_fn), arg_span);
    let (arg_ty, arg_expr) = match arg {
        Arg::None => (quote!(()), quote!()),
        Arg::Owned(t) => (quote!(#t), quote!(__args)),
        Arg::Borrowed(t) => (
            quote!(<#t as ::std::borrow::ToOwned>::Owned),
            quote!(<<#t as ::std::borrow::ToOwned>::Owned as ::std::borrow::Borrow<#t>>::borrow(&__args)),
        ),
    };
    let unused = match (ctx, arg) {
        (None, Arg::None) => quote!(let _ = (#ctx_ident, __args);),
        (None, _) => quote!(let _ = #ctx_ident;),
        (Some(_), Arg::None) => quote!(let _ = __args;),
        _ => quote!(),
    };
    let call = quote!(__this.#ident(#ctx_arg #arg_expr).await);
    let ok = if output.ok_borrowed {
        quote!(::std::borrow::ToOwned::to_owned(__ok))
    } else {
        quote!(__ok)
    };
    let err_conv = quote_spanned! {output.span=>
        __ErrorTag(__err).__into_service_error()
    };
    let body = match output.err {
        None => quote!({
            let __ok = #call;
            ::std::result::Result::<_, #krate::ServiceError>::Ok(#ok)
        }),
        Some(_) => quote!({
            match #call {
                ::std::result::Result::Ok(__ok) => ::std::result::Result::<_, #krate::ServiceError>::Ok(#ok),
                ::std::result::Result::Err(__err) => ::std::result::Result::Err(#err_conv),
            }
        }),
    };
    quote! {
        (
            ::std::string::String::from(#rpc_name),
            {
                let __svc = ::std::sync::Arc::clone(&self);
                #handler_fn(move |#ctx_ident: #krate::Context, __args: #arg_ty| {
                    let __this = ::std::sync::Arc::clone(&__svc);
                    async move {
                        #unused
                        #body
                    }
                })
            }
        )
    }
}

/// Turns a method's error into a `ServiceError`: a `ServiceError` is kept as it is (with its
/// reply), anything else that implements `Display` becomes its text. The choice is made by
/// method resolution (by value before by reference), as the error type is concrete here.
fn error_conversion(krate: &Path) -> TokenStream {
    quote! {
        #[allow(dead_code)]
        struct __ErrorTag<E>(E);
        #[allow(dead_code)]
        trait __FromServiceError {
            fn __into_service_error(self) -> #krate::ServiceError;
        }
        impl __FromServiceError for __ErrorTag<#krate::ServiceError> {
            fn __into_service_error(self) -> #krate::ServiceError {
                self.0
            }
        }
        #[allow(dead_code)]
        trait __FromDisplay<E> {
            fn __into_service_error(self) -> #krate::ServiceError
            where
                E: ::std::fmt::Display;
        }
        impl<E> __FromDisplay<E> for &__ErrorTag<E> {
            fn __into_service_error(self) -> #krate::ServiceError
            where
                E: ::std::fmt::Display,
            {
                #krate::ServiceError::new(::std::string::ToString::to_string(&self.0))
            }
        }
    }
}

//! The `Reflection` service itself: answers rendered once from the service table.

use super::info::{MethodInfo, ServiceInfo};
use crate::handler::handler_fn;
use crate::shared::ServiceTable;
use crate::{Context, ServiceError};
use std::collections::HashMap;
use std::sync::Arc;

/// The name the reflection service is registered under (Go's: the plugin's type name).
pub const REFLECTION_SERVICE: &str = "Reflection";
/// The method listing every service.
pub const GET_SERVICES: &str = "GetServices";
/// The method describing one service, named by the argument.
pub const GET_SERVICE: &str = "GetService";

/// The answers, as JSON text: all services, and each by name.
struct Answers {
    all: String,
    by_name: HashMap<String, String>,
}

/// Registers the reflection service in `services`, describing every service in it (itself
/// included). `described` holds what `#[service]` told about its services, by registered
/// name; services without an entry are described by their method names.
///
/// Returns false, changing nothing, when a service named `Reflection` is already there.
pub(crate) fn install(
    services: &mut ServiceTable,
    described: &HashMap<String, ServiceInfo>,
) -> bool {
    if services.contains_key(REFLECTION_SERVICE) {
        return false;
    }
    let answers = Arc::new(answers(services, described));
    let all = answers.clone();
    let get_services = handler_fn(move |_ctx: Context, _ignored: Option<String>| {
        let reply = all.all.clone();
        async move { Ok::<_, ServiceError>(reply) }
    });
    let get_service = handler_fn(move |_ctx: Context, name: Option<String>| {
        let name = name.unwrap_or_default();
        let reply = match answers.by_name.get(&name) {
            Some(text) => Ok(text.clone()),
            None => Err(ServiceError::new(format!("not found service {name}"))),
        };
        async move { reply }
    });
    let methods = services.entry(REFLECTION_SERVICE.to_owned()).or_default();
    methods.insert(GET_SERVICES.to_owned(), get_services);
    methods.insert(GET_SERVICE.to_owned(), get_service);
    true
}

/// Renders the answers, with the reflection service's own description added.
fn answers(services: &ServiceTable, described: &HashMap<String, ServiceInfo>) -> Answers {
    let mut infos: Vec<ServiceInfo> = services
        .iter()
        .map(|(name, methods)| describe(name, methods.keys(), described.get(name)))
        .collect();
    infos.push(itself());
    infos.sort_by(|a, b| a.name.cmp(&b.name));
    let by_name = infos
        .iter()
        .map(|info| (info.name.clone(), to_json(info)))
        .collect();
    Answers {
        all: to_json(&infos),
        by_name,
    }
}

/// One service: its registered methods, with what `#[service]` recorded where it did.
fn describe<'a>(
    name: &str,
    methods: impl Iterator<Item = &'a String>,
    known: Option<&ServiceInfo>,
) -> ServiceInfo {
    let mut list: Vec<MethodInfo> = methods
        .map(|m| {
            known
                .and_then(|k| k.method(m))
                .cloned()
                .unwrap_or_else(|| MethodInfo::named(m.clone()))
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let pkg = known.map(|k| k.pkg_path.clone()).unwrap_or_default();
    ServiceInfo::new(name, pkg, list)
}

/// The reflection service as it describes itself.
fn itself() -> ServiceInfo {
    let method =
        |name: &str, doc: &str| MethodInfo::new(name, "Option<String>", "String").with_doc(doc);
    ServiceInfo::new(
        REFLECTION_SERVICE,
        module_path!(),
        vec![
            method(
                GET_SERVICE,
                "The service named by the argument, as JSON text.",
            ),
            method(
                GET_SERVICES,
                "Every service, as JSON text (the argument is ignored).",
            ),
        ],
    )
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Plain structs of strings and JSON values: serializing them cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustc_hash::FxHashMap;

    #[test]
    fn describes_known_and_hand_registered_services() {
        let h = handler_fn(|_c: Context, x: u32| async move { Ok::<_, ServiceError>(x) });
        let mut table: ServiceTable = FxHashMap::default();
        let arith = table.entry("Arith".to_owned()).or_default();
        arith.insert("Mul".to_owned(), h.clone());
        arith.insert("Add".to_owned(), h.clone());
        table
            .entry("Echo".to_owned())
            .or_default()
            .insert("Echo".to_owned(), h);
        let mut described = HashMap::new();
        described.insert(
            "Arith".to_owned(),
            ServiceInfo::new(
                "Arith",
                "app::arith",
                vec![MethodInfo::new("Mul", "Args", "Reply")],
            ),
        );
        let a = answers(&table, &described);
        let all: Vec<ServiceInfo> = serde_json::from_str(&a.all).unwrap();
        let names: Vec<_> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Arith", "Echo", "Reflection"]);
        let arith: ServiceInfo = serde_json::from_str(&a.by_name["Arith"]).unwrap();
        assert_eq!(arith.pkg_path, "app::arith");
        assert_eq!(arith.methods[0], MethodInfo::named("Add"));
        assert_eq!(arith.methods[1], MethodInfo::new("Mul", "Args", "Reply"));
        assert_eq!(all[1].methods, [MethodInfo::named("Echo")]);
    }

    #[test]
    fn uses_go_field_names() {
        let info = ServiceInfo::new("Arith", "", vec![MethodInfo::new("Mul", "Args", "Reply")]);
        let v = serde_json::to_value(&info).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Name": "Arith", "Methods": [
                {"Name": "Mul", "ReqName": "Args", "ReplyName": "Reply"}
            ]})
        );
    }
}

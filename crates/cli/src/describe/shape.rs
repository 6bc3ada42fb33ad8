//! A JSON Schema as a one-line shape for people: `{ A: int64, B?: string | null }`,
//! `[uint8]`, `"Red" | "Green"`. Definitions (`$defs`, `definitions`) are inlined a few levels
//! deep, then named, so recursive types end.

use serde_json::{Map, Value};

/// How deep references are inlined before they are shown by name.
const MAX_DEPTH: usize = 4;

/// The shape of a root schema.
pub(crate) fn shape(root: &Value) -> String {
    Shaper { root }.shape(root, 0)
}

struct Shaper<'a> {
    root: &'a Value,
}

impl Shaper<'_> {
    fn shape(&self, s: &Value, depth: usize) -> String {
        let obj = match s {
            Value::Bool(true) => return "any".to_owned(),
            Value::Bool(false) => return "never".to_owned(),
            Value::Object(o) => o,
            _ => return "?".to_owned(),
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            return self.reference(r, depth);
        }
        if let Some(values) = obj.get("enum").and_then(Value::as_array) {
            return join(values.iter().map(Value::to_string));
        }
        if let Some(c) = obj.get("const") {
            return c.to_string();
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            if let Some(list) = obj.get(key).and_then(Value::as_array) {
                let sep = if key == "allOf" { " & " } else { " | " };
                let parts: Vec<String> = list.iter().map(|v| self.shape(v, depth)).collect();
                return parts.join(sep);
            }
        }
        match obj.get("type") {
            Some(Value::String(t)) => self.typed(t, obj, depth),
            Some(Value::Array(ts)) => join(
                ts.iter()
                    .filter_map(Value::as_str)
                    .map(|t| self.typed(t, obj, depth)),
            ),
            _ if obj.contains_key("properties") => self.typed("object", obj, depth),
            _ => "any".to_owned(),
        }
    }

    fn typed(&self, t: &str, obj: &Map<String, Value>, depth: usize) -> String {
        let format = obj.get("format").and_then(Value::as_str);
        match t {
            "object" => self.object(obj, depth),
            "array" => self.array(obj, depth),
            "integer" | "number" => format.unwrap_or(t).to_owned(),
            "string" => match format {
                Some(f) => format!("string({f})"),
                None => "string".to_owned(),
            },
            other => other.to_owned(),
        }
    }

    fn object(&self, obj: &Map<String, Value>, depth: usize) -> String {
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            let required: Vec<&str> = obj
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if props.is_empty() {
                return "{}".to_owned();
            }
            // Sorted by name, whatever order serde_json keeps, so the output is stable.
            let mut props: Vec<_> = props.iter().collect();
            props.sort_by(|a, b| a.0.cmp(b.0));
            let fields: Vec<String> = props
                .into_iter()
                .map(|(k, v)| {
                    let opt = if required.contains(&k.as_str()) {
                        ""
                    } else {
                        "?"
                    };
                    format!("{k}{opt}: {}", self.shape(v, depth))
                })
                .collect();
            return format!("{{ {} }}", fields.join(", "));
        }
        match obj.get("additionalProperties") {
            Some(v @ Value::Object(_)) => format!("{{ [key: string]: {} }}", self.shape(v, depth)),
            _ => "object".to_owned(),
        }
    }

    fn array(&self, obj: &Map<String, Value>, depth: usize) -> String {
        if let Some(items) = obj.get("prefixItems").and_then(Value::as_array) {
            let parts: Vec<String> = items.iter().map(|v| self.shape(v, depth)).collect();
            return format!("({})", parts.join(", "));
        }
        match obj.get("items") {
            Some(Value::Array(items)) => {
                let parts: Vec<String> = items.iter().map(|v| self.shape(v, depth)).collect();
                format!("({})", parts.join(", "))
            }
            Some(item) => format!("[{}]", self.shape(item, depth)),
            None => "[any]".to_owned(),
        }
    }

    /// `#/$defs/Name`: the definition inlined, or its name when deep or not found.
    fn reference(&self, r: &str, depth: usize) -> String {
        let name = r.rsplit('/').next().unwrap_or(r);
        if depth >= MAX_DEPTH {
            return name.to_owned();
        }
        let target = r
            .strip_prefix('#')
            .and_then(|pointer| self.root.pointer(pointer));
        match target {
            Some(def) => self.shape(def, depth + 1),
            None => name.to_owned(),
        }
    }
}

fn join(parts: impl Iterator<Item = String>) -> String {
    parts.collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests {
    use super::shape;
    use serde_json::json;

    #[test]
    fn objects_arrays_options_and_refs() {
        let s = json!({
            "type": "object",
            "properties": {
                "A": {"type": "integer", "format": "int64"},
                "Tags": {"type": "array", "items": {"type": "string"}},
                "Note": {"type": ["string", "null"]},
                "Inner": {"$ref": "#/$defs/Inner"}
            },
            "required": ["A", "Tags", "Inner"],
            "$defs": {"Inner": {"type": "object", "properties": {"X": {"type": "boolean"}}, "required": ["X"]}}
        });
        assert_eq!(
            shape(&s),
            "{ A: int64, Inner: { X: boolean }, Note?: string | null, Tags: [string] }"
        );
    }

    #[test]
    fn enums_tuples_maps_and_recursion_end() {
        assert_eq!(
            shape(&json!({"type": "string", "enum": ["Red", "Green"]})),
            r#""Red" | "Green""#
        );
        assert_eq!(
            shape(
                &json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]})
            ),
            "(integer, string)"
        );
        assert_eq!(
            shape(
                &json!({"type": "object", "additionalProperties": {"type": "number", "format": "double"}})
            ),
            "{ [key: string]: double }"
        );
        let list = json!({"$ref": "#/$defs/List", "$defs": {"List": {"type": "object",
            "properties": {"next": {"$ref": "#/$defs/List"}}}}});
        assert!(shape(&list).contains("next?: List"));
        assert_eq!(shape(&json!({"type": "null"})), "null");
    }
}

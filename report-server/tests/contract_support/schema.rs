//! The JSON-schema subset `docs/openapi.json` uses: a validator (for responses and for the test's
//! own requests) and generators of values that the document calls valid or invalid.
//!
//! Supported keywords: `$ref` (local), `allOf`, `oneOf`, `type` (one or a list), `enum`, `const`,
//! `properties`, `required`, `additionalProperties` (bool or schema), `items`, `minItems`,
//! `maxItems`, `minLength`, `maxLength`, `minimum`, `maximum`, `pattern` (character-class patterns
//! `^[...]*$` / `^[...]+$` only). Any other constraint keyword makes the test panic, so the
//! document cannot gain a constraint this validator silently ignores.

use serde_json::{Map, Value, json};

/// Keywords that carry no constraint (documentation, or only meaningful to code generators).
const ANNOTATIONS: &[&str] = &[
    "description",
    "format",
    "default",
    "example",
    "title",
    "readOnly",
    "writeOnly",
    "deprecated",
];

/// Keywords this module checks.
const CONSTRAINTS: &[&str] = &[
    "$ref",
    "allOf",
    "oneOf",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "pattern",
];

/// The document, for resolving `$ref`s.
pub struct Doc<'a>(pub &'a Value);

impl<'a> Doc<'a> {
    /// `schema` with its `$ref` (if any) resolved, repeatedly.
    pub fn resolve(&self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unsupported $ref {r}"));
            s = &self.0["components"]["schemas"][name];
            assert!(!s.is_null(), "dangling $ref {r}");
        }
        s
    }

    /// Check `v` against `schema`; every violation is pushed to `errors` with its JSON path.
    pub fn validate(&self, schema: &'a Value, v: &Value, path: &str, errors: &mut Vec<String>) {
        let s = self.resolve(schema);
        let Some(obj) = s.as_object() else {
            return;
        };
        for k in obj.keys() {
            assert!(
                CONSTRAINTS.contains(&k.as_str()) || ANNOTATIONS.contains(&k.as_str()),
                "schema keyword `{k}` is not supported by the contract test's validator"
            );
        }
        if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.validate(sub, v, path, errors);
            }
        }
        if let Some(one) = obj.get("oneOf").and_then(Value::as_array) {
            let matching = one.iter().filter(|sub| self.is_valid(sub, v)).count();
            if matching != 1 {
                errors.push(format!("{path}: matches {matching} of the oneOf schemas"));
            }
        }
        if let Some(t) = obj.get("type")
            && !type_matches(t, v)
        {
            errors.push(format!("{path}: {v} is not of type {t}"));
            return;
        }
        if let Some(e) = obj.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            errors.push(format!(
                "{path}: {v} is not one of {}",
                Value::Array(e.clone())
            ));
        }
        if let Some(c) = obj.get("const")
            && c != v
        {
            errors.push(format!("{path}: {v} is not {c}"));
        }
        match v {
            Value::Object(map) => self.validate_object(obj, map, path, errors),
            Value::Array(items) => self.validate_array(obj, items, path, errors),
            Value::String(s) => validate_string(obj, s, path, errors),
            Value::Number(n) => validate_number(obj, n, path, errors),
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// Whether `v` matches `schema`.
    pub fn is_valid(&self, schema: &'a Value, v: &Value) -> bool {
        let mut errors = Vec::new();
        self.validate(schema, v, "", &mut errors);
        errors.is_empty()
    }

    fn validate_object(
        &self,
        obj: &'a Map<String, Value>,
        map: &Map<String, Value>,
        path: &str,
        errors: &mut Vec<String>,
    ) {
        let props = obj.get("properties").and_then(Value::as_object);
        for r in required(obj) {
            if !map.contains_key(r) {
                errors.push(format!("{path}: required property `{r}` is missing"));
            }
        }
        for (k, item) in map {
            let sub = format!("{path}/{k}");
            match (
                props.and_then(|p| p.get(k)),
                obj.get("additionalProperties"),
            ) {
                (Some(ps), _) => self.validate(ps, item, &sub, errors),
                (None, Some(Value::Bool(false))) => {
                    errors.push(format!("{path}: property `{k}` is not allowed"))
                }
                (None, Some(extra @ Value::Object(_))) => self.validate(extra, item, &sub, errors),
                (None, _) => {}
            }
        }
    }

    fn validate_array(
        &self,
        obj: &'a Map<String, Value>,
        items: &[Value],
        path: &str,
        errors: &mut Vec<String>,
    ) {
        if let Some(min) = obj.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            errors.push(format!("{path}: fewer than {min} items"));
        }
        if let Some(max) = obj.get("maxItems").and_then(Value::as_u64)
            && (items.len() as u64) > max
        {
            errors.push(format!("{path}: more than {max} items"));
        }
        if let Some(item_schema) = obj.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.validate(item_schema, item, &format!("{path}/{i}"), errors);
            }
        }
    }
}

/// The `required` list of an object schema.
pub fn required(obj: &Map<String, Value>) -> Vec<&str> {
    obj.get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The types a schema allows (`type` as a string or a list); empty when it names none.
pub fn types(s: &Value) -> Vec<&str> {
    match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn type_matches(t: &Value, v: &Value) -> bool {
    let one = |t: &str| match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        other => panic!("unknown type {other}"),
    };
    match t {
        Value::String(s) => one(s),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(one),
        _ => true,
    }
}

fn validate_string(obj: &Map<String, Value>, s: &str, path: &str, errors: &mut Vec<String>) {
    let len = s.chars().count() as u64;
    if let Some(min) = obj.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        errors.push(format!("{path}: shorter than {min}"));
    }
    if let Some(max) = obj.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        errors.push(format!("{path}: longer than {max}"));
    }
    if let Some(p) = obj.get("pattern").and_then(Value::as_str)
        && !pattern_matches(p, s)
    {
        errors.push(format!("{path}: {s:?} does not match {p}"));
    }
}

fn validate_number(
    obj: &Map<String, Value>,
    n: &serde_json::Number,
    path: &str,
    errors: &mut Vec<String>,
) {
    let x = n.as_f64().unwrap_or(f64::NAN);
    if let Some(min) = obj.get("minimum").and_then(Value::as_f64)
        && x < min
    {
        errors.push(format!("{path}: {n} is below the minimum {min}"));
    }
    if let Some(max) = obj.get("maximum").and_then(Value::as_f64)
        && x > max
    {
        errors.push(format!("{path}: {n} is above the maximum {max}"));
    }
}

/// A character-class pattern `^[CLASS]*$` or `^[CLASS]+$` (CLASS: literals and `a-z` ranges; a
/// trailing `-` is literal).
pub fn pattern_matches(pattern: &str, s: &str) -> bool {
    let (class, plus) = if let Some(c) = pattern
        .strip_prefix("^[")
        .and_then(|p| p.strip_suffix("]*$"))
    {
        (c, false)
    } else if let Some(c) = pattern
        .strip_prefix("^[")
        .and_then(|p| p.strip_suffix("]+$"))
    {
        (c, true)
    } else {
        panic!("pattern {pattern} is not supported by the contract test")
    };
    let chars: Vec<char> = class.chars().collect();
    let in_class = |c: char| {
        let mut i = 0;
        while i < chars.len() {
            if i + 2 < chars.len() && chars[i + 1] == '-' {
                if (chars[i]..=chars[i + 2]).contains(&c) {
                    return true;
                }
                i += 3;
            } else {
                if chars[i] == c {
                    return true;
                }
                i += 1;
            }
        }
        false
    };
    (!plus || !s.is_empty()) && s.chars().all(in_class)
}

/// A value the schema calls valid, as plain as possible: the first enum member, the minimum (or
/// 1), a string of `minLength` letters, `minItems` generated items, an object with its required
/// properties.
pub fn generate(doc: &Doc<'_>, schema: &Value) -> Value {
    let s = doc.resolve(schema);
    if let Some(e) = s
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return e.clone();
    }
    if let Some(c) = s.get("const") {
        return c.clone();
    }
    if let Some(first) = s
        .get("allOf")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return generate(doc, first);
    }
    if let Some(first) = s
        .get("oneOf")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return generate(doc, first);
    }
    let ts = types(s);
    match ts.iter().copied().find(|t| *t != "null").unwrap_or("null") {
        "object" => {
            let mut out = Map::new();
            if let Some(obj) = s.as_object() {
                for r in required(obj) {
                    out.insert(r.to_owned(), generate(doc, &s["properties"][r]));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let n = s.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            Value::Array((0..n).map(|_| generate(doc, &s["items"])).collect())
        }
        "string" => {
            if s.get("format").and_then(Value::as_str) == Some("uri") {
                return json!("http://127.0.0.1:9/contract");
            }
            let n = s
                .get("minLength")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            // A pattern's first character (for base64url: `A`, all-zero bits, so any length of
            // it decodes canonically).
            let c = s
                .get("pattern")
                .and_then(Value::as_str)
                .and_then(|p| p.strip_prefix("^["))
                .and_then(|p| p.chars().next())
                .unwrap_or('a');
            Value::String(c.to_string().repeat(n as usize))
        }
        "integer" | "number" => {
            json!(s.get("minimum").and_then(Value::as_i64).unwrap_or(1).max(0))
        }
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

/// A value variant: what it is, and the value.
pub struct Variant {
    pub what: String,
    pub value: Value,
}

fn variant(what: impl Into<String>, value: Value) -> Variant {
    Variant {
        what: what.into(),
        value,
    }
}

/// Replacement values for one value of `schema` that the schema forbids: a wrong type, null,
/// below the minimum, above the maximum, a float for an integer, empty/too long strings, a
/// pattern violation, a non-member of an enum, too few items.
pub fn invalid_values(doc: &Doc<'_>, schema: &Value) -> Vec<Variant> {
    let s = doc.resolve(schema);
    let ts = types(s);
    let mut out = Vec::new();
    if ts.is_empty() {
        return out;
    }
    let wrong = [
        ("string", json!("contract")),
        ("integer", json!(7)),
        ("boolean", json!(true)),
        ("object", json!({})),
        ("array", json!([])),
    ];
    for (t, v) in wrong {
        let allowed = ts.contains(&t) || (t == "integer" && ts.contains(&"number"));
        if !allowed {
            out.push(variant(format!("{t} instead of {}", ts.join("|")), v));
            break;
        }
    }
    if !ts.contains(&"null") {
        out.push(variant("null", Value::Null));
    }
    if ts.contains(&"integer") {
        out.push(variant("a float for an integer", json!(1.5)));
        if let Some(min) = s.get("minimum").and_then(Value::as_i64) {
            out.push(variant("below the minimum", json!(min - 1)));
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_i64) {
            out.push(variant("above the maximum", json!(max + 1)));
        }
    }
    if ts.contains(&"string") {
        if s.get("minLength").and_then(Value::as_u64).unwrap_or(0) >= 1 {
            out.push(variant("an empty string", json!("")));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            out.push(variant("too long", json!("a".repeat(max as usize + 1))));
        }
        if s.get("pattern").is_some() {
            out.push(variant("against the pattern", json!("!*!")));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let outsider = if ts.contains(&"integer") {
            json!(999)
        } else {
            json!("not_a_member")
        };
        if !e.contains(&outsider) {
            out.push(variant("not an enum member", outsider));
        }
    }
    if ts.contains(&"array") && s.get("minItems").and_then(Value::as_u64).unwrap_or(0) >= 1 {
        out.push(variant("an empty array", json!([])));
    }
    out
}

/// Replacement values the schema allows at its edges: the empty string when there is no
/// `minLength`, the minimum, the maximum, a negative number when there is no minimum.
pub fn edge_values(doc: &Doc<'_>, schema: &Value) -> Vec<Variant> {
    let s = doc.resolve(schema);
    let ts = types(s);
    let mut out = Vec::new();
    if s.get("enum").is_some() || s.get("const").is_some() {
        return out;
    }
    if ts.contains(&"string")
        && s.get("minLength").is_none()
        && s.get("pattern").is_none()
        && s.get("format").and_then(Value::as_str) != Some("uri")
    {
        out.push(variant("an empty string", json!("")));
    }
    if ts.contains(&"integer") {
        match s.get("minimum").and_then(Value::as_i64) {
            Some(min) => out.push(variant("the minimum", json!(min))),
            None => out.push(variant("a negative integer", json!(-1))),
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_i64) {
            out.push(variant("the maximum", json!(max)));
        }
    }
    out
}

//! The OpenAPI document as a contract: every request a test sends names the
//! documented operation it exercises (path template and method); the answer's
//! status must be one the operation documents, its media type and body must
//! match that response's schema (JSON Schema 2020-12, the document's own
//! `components` resolving the `$ref`s), its documented headers must be there.
//! A request meant to be valid must itself fit the documented parameters and
//! request body, so the document describes what the server accepts too.
//! Every (operation, status) seen is recorded, for the coverage check.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::common::http::{HttpResponse, request};

/// Whether a request is meant to be accepted (its inputs must fit the
/// document) or to be refused (only the answer is checked).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Valid,
    Bad,
}

pub struct Contract {
    pub doc: Value,
    base: String,
    /// operationId → statuses answered.
    pub seen: BTreeMap<String, BTreeSet<u16>>,
}

/// One request: `path` is concrete, `template` the documented path.
pub struct Call<'a> {
    pub method: &'a str,
    pub template: &'a str,
    pub path: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<&'a str>,
    pub input: Input,
}

impl Contract {
    pub fn new(doc: Value, base: &str) -> Self {
        Self {
            doc,
            base: base.to_string(),
            seen: BTreeMap::new(),
        }
    }

    /// Every documented (path, method, operationId).
    pub fn operations(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("a path item") {
                let id = op["operationId"].as_str().expect("an operationId");
                out.push((path.clone(), method.clone(), id.to_string()));
            }
        }
        out
    }

    fn operation(&self, template: &str, method: &str) -> &Value {
        let op = &self.doc["paths"][template][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        op
    }

    /// Sends `call`, checks the answer against the document, returns it.
    pub fn send(&mut self, call: Call<'_>) -> HttpResponse {
        let op = self.operation(call.template, call.method).clone();
        if call.input == Input::Valid {
            self.check_input(&op, &call);
        }
        let r = request(&self.base, call.method, call.path, call.headers, call.body);
        let id = op["operationId"].as_str().unwrap_or_default().to_string();
        let what = format!("{} {} ({id})", call.method, call.path);
        let documented = self.resolve(&op["responses"][r.status.to_string()]);
        assert!(
            documented.is_object(),
            "{what}: status {} is not documented: {r:?}",
            r.status
        );
        self.check_headers(&what, documented, &r);
        self.check_body(&what, documented, &r);
        self.seen.entry(id).or_default().insert(r.status);
        r
    }

    /// A response, or the reusable one (`#/components/responses/…`) it names.
    fn resolve<'d>(&'d self, response: &'d Value) -> &'d Value {
        match response["$ref"].as_str() {
            Some(r) => {
                let target = r
                    .strip_prefix('#')
                    .and_then(|pointer| self.doc.pointer(pointer))
                    .unwrap_or(&Value::Null);
                assert!(target.is_object(), "{r} names nothing in the document");
                target
            }
            None => response,
        }
    }

    fn check_headers(&self, what: &str, documented: &Value, r: &HttpResponse) {
        for (name, _) in documented["headers"].as_object().into_iter().flatten() {
            let value = r.header(name);
            assert!(
                value.is_some(),
                "{what}: documented header {name} is missing"
            );
            if name.eq_ignore_ascii_case("etag") {
                let v = value.unwrap_or_default();
                let digits = v.trim_matches('"');
                assert!(
                    v.starts_with('"') && v.ends_with('"') && digits.parse::<u64>().is_ok(),
                    "{what}: ETag {v} is not a quoted version"
                );
            }
        }
    }

    fn check_body(&self, what: &str, documented: &Value, r: &HttpResponse) {
        let Some(content) = documented["content"].as_object() else {
            assert!(r.body.is_empty(), "{what}: undocumented body {:?}", r.body);
            return;
        };
        let media = r
            .header("content-type")
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .trim();
        let Some(entry) = content.get(media) else {
            panic!(
                "{what}: content type {media:?} is not documented (documented: {:?})",
                content.keys().collect::<Vec<_>>()
            );
        };
        let body: Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("{what}: the body is not JSON ({e}): {}", r.body));
        self.assert_fits(what, &entry["schema"], &body);
    }

    /// The parameters and body of a request meant to be valid fit the
    /// operation's documented ones.
    fn check_input(&self, op: &Value, call: &Call<'_>) {
        let what = format!("request {} {}", call.method, call.path);
        let (path_only, query) = call.path.split_once('?').unwrap_or((call.path, ""));
        let segments = path_values(call.template, path_only);
        let query: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default();
            let raw = match p["in"].as_str() {
                Some("path") => segments.get(name).cloned(),
                Some("query") => query.get(name).cloned(),
                Some("header") => call
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_string()),
                other => panic!("{what}: parameter {name} in {other:?}"),
            };
            match raw {
                Some(raw) => {
                    self.assert_fits(&what, &p["schema"], &typed(&p["schema"], &raw));
                }
                None => assert!(p["required"] != true, "{what}: {name} is required"),
            }
        }
        for name in query.keys() {
            let listed = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == name.as_str() && p["in"] == "query");
            assert!(listed, "{what}: query parameter {name} is not documented");
        }
        match (
            &op["requestBody"]["content"]["application/json"]["schema"],
            call.body,
        ) {
            (Value::Null, None) => {}
            (Value::Null, Some(_)) => panic!("{what}: no request body is documented"),
            (schema, Some(text)) => {
                let body: Value = serde_json::from_str(text).expect("a valid body is JSON");
                self.assert_fits(&what, schema, &body);
            }
            (_, None) => assert!(
                op["requestBody"]["required"] != true,
                "{what}: the body is required"
            ),
        }
    }

    /// `value` fits `schema` (which may `$ref` the document's components).
    pub fn assert_fits(&self, what: &str, schema: &Value, value: &Value) {
        let errors = self.errors(schema, value);
        assert!(
            errors.is_empty(),
            "{what}: {value} does not fit {schema}: {errors:?}"
        );
    }

    /// The schema violations of `value` (empty: it fits).
    pub fn errors(&self, schema: &Value, value: &Value) -> Vec<String> {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        let validator = jsonschema::validator_for(&root)
            .unwrap_or_else(|e| panic!("the document's schema {schema} does not compile: {e}"));
        validator
            .iter_errors(value)
            .map(|e| e.to_string())
            .collect()
    }
}

/// The path parameters of `path` by the names in `template`.
fn path_values(template: &str, path: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (t, p) in template.split('/').zip(path.split('/')) {
        if let Some(name) = t.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            let decoded = form_urlencoded::parse(format!("x={p}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            out.insert(name.to_string(), decoded);
        }
    }
    out
}

/// A parameter's text as the JSON value its schema types it as.
fn typed(schema: &Value, raw: &str) -> Value {
    let integer = schema["type"] == "integer"
        || schema["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "integer"));
    match raw.parse::<i64>() {
        Ok(n) if integer => json!(n),
        _ => json!(raw),
    }
}

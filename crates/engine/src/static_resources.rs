//! Serving the static resources (`crate::domain::static_resource`) through the
//! resources methods: list and template entries, contents, and the cursors that
//! page through them after the prompts. They never change, so subscribing to one
//! is accepted and never produces an update.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::renderer::Renderer;
use crate::domain::static_resource::{Body, Describe, Found, StaticResources};

const CURSOR_PREFIX: &str = "static:";

/// The static resources an engine serves, with the renderer for template bodies.
#[derive(Default)]
pub struct StaticServer {
    set: StaticResources,
    renderer: Renderer,
}

impl StaticServer {
    pub fn new(set: StaticResources) -> Self {
        Self {
            set,
            renderer: Renderer::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// At most `room` list entries starting at index `from`, and the index
    /// the next page starts at when some are left.
    pub fn list_page(&self, from: usize, room: usize) -> (Vec<Value>, Option<usize>) {
        let all = self.set.resources();
        let end = from.saturating_add(room).min(all.len());
        let page = all
            .get(from..end)
            .unwrap_or_default()
            .iter()
            .map(|r| entry("uri", &r.uri, &r.describe))
            .collect();
        (page, (end < all.len()).then_some(end))
    }

    /// The `resources/templates/list` entries.
    pub fn template_entries(&self) -> impl Iterator<Item = Value> + '_ {
        self.set
            .templates()
            .iter()
            .map(|t| entry("uriTemplate", t.uri_template.as_str(), &t.describe))
    }

    /// The placeholders of our template written exactly `uri_template`.
    pub fn template_variables(&self, uri_template: &str) -> Option<Vec<&str>> {
        self.set
            .templates()
            .iter()
            .find(|t| t.uri_template.as_str() == uri_template)
            .map(|t| t.uri_template.variables().collect())
    }

    /// Whether `uri` is one of ours (a fixed URI or a template expansion).
    pub fn serves(&self, uri: &str) -> bool {
        self.set.find(uri).is_some()
    }

    /// The `resources/read` content of `uri`; `None` when it is not ours, an
    /// error message when a template fails to render.
    pub fn read(&self, uri: &str) -> Option<Result<Value, String>> {
        let content = match self.set.find(uri)? {
            Found::Fixed(r) => {
                let (key, value) = match &r.body {
                    Body::Text(text) => ("text", text),
                    Body::Blob(blob) => ("blob", blob),
                };
                json!({ "uri": uri, "mimeType": r.describe.mime_type, key: value })
            }
            Found::Templated(t, values) => {
                let data = Value::Object(
                    values
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect::<Map<_, _>>(),
                );
                match self.renderer.render_source(&t.text, &data) {
                    Ok(text) => {
                        json!({ "uri": uri, "mimeType": t.describe.mime_type, "text": text })
                    }
                    Err(e) => return Some(Err(format!("rendering {uri}: {e}"))),
                }
            }
        };
        Some(Ok(content))
    }
}

fn entry(key: &str, uri: &str, d: &Describe) -> Value {
    let mut e = json!({ key: uri, "name": d.name });
    if let Some(title) = &d.title {
        e["title"] = json!(title);
    }
    if let Some(description) = &d.description {
        e["description"] = json!(description);
    }
    e["mimeType"] = json!(d.mime_type);
    e
}

/// The cursor of a `resources/list` page that starts at static entry `index`.
pub fn encode_cursor(index: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{index}"))
}

/// `None` when the cursor was not made by `encode_cursor` (a prompt cursor, say).
pub fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix(CURSOR_PREFIX)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> StaticServer {
        StaticServer::new(
            StaticResources::parse(
                r#"{"resources": [
                    {"uri": "a:1", "name": "one", "text": "first"},
                    {"uri": "a:2", "name": "two", "description": "d", "mimeType": "image/png", "blob": "AAE="},
                    {"uri": "a:3", "name": "three", "text": "third"}],
                "resourceTemplates": [{"uriTemplate": "t://{id}/data", "name": "data",
                    "mimeType": "application/json", "text": "{\"id\":\"{{id}}\",\"tag\":\"<{{id}}>\"}"}]}"#,
            )
            .unwrap(),
        )
    }

    #[test]
    fn pages_by_index() {
        let s = server();
        let (page, next) = s.list_page(0, 2);
        assert_eq!(
            page[0],
            json!({"uri": "a:1", "name": "one", "mimeType": "text/plain"})
        );
        assert_eq!(page[1]["description"], "d");
        assert_eq!(next, Some(2));
        let (page, next) = s.list_page(2, 2);
        assert_eq!((page.len(), next), (1, None));
        assert_eq!(s.list_page(0, 0), (vec![], Some(0)));
        assert_eq!(s.list_page(9, 2), (vec![], None));
    }

    #[test]
    fn reads_text_blob_and_rendered_templates_unescaped() {
        let s = server();
        assert_eq!(
            s.read("a:2").unwrap().unwrap(),
            json!({"uri": "a:2", "mimeType": "image/png", "blob": "AAE="})
        );
        assert_eq!(
            s.read("t://12/data").unwrap().unwrap(),
            json!({"uri": "t://12/data", "mimeType": "application/json",
                   "text": "{\"id\":\"12\",\"tag\":\"<12>\"}"})
        );
        assert!(s.read("t://12").is_none());
        assert!(s.serves("a:3") && s.serves("t://x/data") && !s.serves("a:4"));
        assert_eq!(s.template_entries().count(), 1);
        assert_eq!(s.template_variables("t://{id}/data"), Some(vec!["id"]));
        assert_eq!(s.template_variables("t://{x}/data"), None);
    }

    #[test]
    fn cursors_round_trip_and_ignore_prompt_cursors() {
        assert_eq!(decode_cursor(&encode_cursor(7)), Some(7));
        let prompt_cursor = crate::cursor::encode(&crate::domain::PromptId::parse("a").unwrap());
        assert_eq!(decode_cursor(&prompt_cursor), None);
        assert_eq!(decode_cursor("static:1"), None);
    }
}

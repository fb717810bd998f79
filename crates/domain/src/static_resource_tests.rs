//! Parsing and validation of static resources files.

use super::*;

const GOOD: &str = r##"{
  "resources": [
    {"uri": "docs://style", "name": "style", "title": "Style guide", "text": "Be brief."},
    {"uri": "img://logo", "name": "logo", "mimeType": "image/png", "blob": "iVBORw0KGgo="}
  ],
  "resourceTemplates": [
    {"uriTemplate": "docs://team/{team}/{page}", "name": "team-page",
     "mimeType": "text/markdown", "text": "# {{upper page}} of {{team}}"}
  ]
}"##;

fn problem(json: &str) -> (String, Problem) {
    match StaticResources::parse(json) {
        Err(StaticResourceError::Entry { at, problem }) => (at, problem),
        other => panic!("expected an entry error, got {other:?}"),
    }
}

fn one_resource(entry: &str) -> String {
    format!(r#"{{"resources": [{entry}]}}"#)
}

fn one_template(uri_template: &str, text: &str) -> String {
    serde_json::json!({"resourceTemplates": [{"uriTemplate": uri_template, "name": "t", "text": text}]})
        .to_string()
}

#[test]
fn parses_fixed_resources_and_templates_with_mime_defaults() {
    let set = StaticResources::parse(GOOD).unwrap();
    let [style, logo] = set.resources() else {
        panic!("two resources")
    };
    assert_eq!(style.describe.mime_type, "text/plain");
    assert_eq!(style.describe.title.as_deref(), Some("Style guide"));
    assert_eq!(style.body, Body::Text("Be brief.".into()));
    assert_eq!(logo.describe.mime_type, "image/png");
    assert_eq!(logo.body, Body::Blob("iVBORw0KGgo=".into()));
    assert_eq!(set.templates()[0].describe.mime_type, "text/markdown");

    let blob = StaticResources::parse(&one_resource(r#"{"uri": "b:x", "name": "b", "blob": ""}"#));
    assert_eq!(
        blob.unwrap().resources()[0].describe.mime_type,
        "application/octet-stream"
    );
    assert!(StaticResources::parse("{}").unwrap().is_empty());
}

#[test]
fn finds_fixed_uris_first_then_template_expansions() {
    let set = StaticResources::parse(GOOD).unwrap();
    assert!(
        matches!(set.find("docs://style"), Some(Found::Fixed(r)) if r.describe.name == "style")
    );
    match set.find("docs://team/core/intro") {
        Some(Found::Templated(t, values)) => {
            assert_eq!(t.describe.name, "team-page");
            assert_eq!(values["team"], "core");
            assert_eq!(values["page"], "intro");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(set.find("docs://team/core"), None);
    assert_eq!(set.find("prompt://style"), None);
}

#[test]
fn bad_json_and_unknown_fields_are_refused() {
    let err = StaticResources::parse("{\"resources\": [").unwrap_err();
    assert!(matches!(err, StaticResourceError::Json(_)), "{err}");
    assert!(err.to_string().contains("line 1"), "{err}");
    let typo = StaticResources::parse(&one_resource(r#"{"uri": "a:b", "name": "n", "txt": "x"}"#))
        .unwrap_err();
    assert!(typo.to_string().contains("unknown field `txt`"), "{typo}");
}

#[test]
fn each_bad_fixed_entry_gets_its_precise_problem() {
    let cases = [
        (
            r#"{"uri": "a:1", "name": "", "text": "x"}"#,
            Problem::EmptyName,
        ),
        (
            r#"{"uri": "no-scheme", "name": "n", "text": "x"}"#,
            Problem::NoScheme,
        ),
        (
            r#"{"uri": "1a:x", "name": "n", "text": "x"}"#,
            Problem::NoScheme,
        ),
        (
            r#"{"uri": "a:b c", "name": "n", "text": "x"}"#,
            Problem::BadCharacter,
        ),
        (
            r#"{"uri": "prompt://x", "name": "n", "text": "x"}"#,
            Problem::ReservedScheme,
        ),
        (
            r#"{"uri": "PROMPT://x", "name": "n", "text": "x"}"#,
            Problem::ReservedScheme,
        ),
        (
            r#"{"uri": "a:1", "name": "n", "text": "x", "blob": ""}"#,
            Problem::TextAndBlob,
        ),
        (r#"{"uri": "a:1", "name": "n"}"#, Problem::NoBody),
    ];
    for (entry, expected) in cases {
        let (at, got) = problem(&one_resource(entry));
        assert_eq!(got, expected, "{entry}");
        assert!(at.starts_with("resources[0] ("), "{at}");
    }
    let (_, got) = problem(&one_resource(
        r#"{"uri": "a:1", "name": "n", "blob": "not base64!"}"#,
    ));
    assert!(matches!(got, Problem::BadBase64(_)), "{got}");
}

#[test]
fn duplicates_name_the_first_entry() {
    let json = r#"{"resources": [
        {"uri": "a:1", "name": "one", "text": "x"},
        {"uri": "a:1", "name": "two", "text": "y"}]}"#;
    let err = StaticResources::parse(json).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"resources[1] ("a:1"): duplicate of resources[0] ("a:1")"#
    );
    let json = r#"{"resourceTemplates": [
        {"uriTemplate": "a:{x}", "name": "one", "text": ""},
        {"uriTemplate": "a:{x}", "name": "two", "text": ""}]}"#;
    let (at, got) = problem(json);
    assert_eq!(at, r#"resourceTemplates[1] ("a:{x}")"#);
    assert_eq!(
        got,
        Problem::Duplicate(r#"resourceTemplates[0] ("a:{x}")"#.into())
    );
}

#[test]
fn template_bodies_read_only_their_placeholders() {
    let (_, got) = problem(&one_template("t://{id}/data", "{{id}} {{name}}"));
    assert_eq!(
        got,
        Problem::UnknownPlaceholder {
            name: "name".into(),
            known: "id".into()
        }
    );
    assert_eq!(
        got.to_string(),
        "\"text\" uses '{{name}}', which is not a placeholder of the uriTemplate (placeholders: id)"
    );
    let (_, got) = problem(&one_template("t://{id}", "{{> code-review}}"));
    assert_eq!(got, Problem::Partial("code-review".into()));
    let (_, got) = problem(&one_template("t://{id}", "{{#if id}}"));
    assert!(matches!(got, Problem::BadBody(_)), "{got}");
    let (_, got) = problem(&one_template("t://{id}", "{{shout id}}"));
    assert!(matches!(got, Problem::BadBody(_)), "{got}");
}

#[test]
fn template_uris_are_checked_like_fixed_ones() {
    let (_, got) = problem(&one_template("t://{id", ""));
    assert_eq!(got, Problem::BadUriTemplate(UriTemplateError::Unclosed(4)));
    let (_, got) = problem(&one_template("{scheme}://x", ""));
    assert_eq!(got, Problem::NoScheme);
    let (_, got) = problem(&one_template("prompt://{id}/extra", ""));
    assert_eq!(got, Problem::ReservedScheme);
}

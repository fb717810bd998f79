//! Leniency and layout, file by file.

use super::*;

fn prompts(path: &str, text: &str) -> Vec<CatalogPrompt> {
    match parse_file(path, text).unwrap() {
        FileContent::Prompts(p) => p,
        other => panic!("{path}: {other:?}"),
    }
}

fn one(path: &str, text: &str) -> CatalogPrompt {
    let mut all = prompts(path, text);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn skipped(path: &str, text: &str) -> String {
    match parse_file(path, text).unwrap() {
        FileContent::NotAPrompt(why) => why,
        other => panic!("{path}: {other:?}"),
    }
}

#[test]
fn json_with_names_takes_the_folder_category_and_keeps_unknown_fields() {
    let p = one(
        "development/code-review.json",
        r#"{"name": "Code Review", "content": "Review {{code}}", "isTemplate": true,
            "variables": ["code"], "tags": ["review"], "examples": [], "author": "me",
            "createdAt": "2025-03-26T02:21:16.384Z", "version": 3}"#,
    );
    assert_eq!(p.id.as_str(), "code-review");
    assert_eq!(p.category.as_deref(), Some("development"));
    assert!(p.category_from_folder);
    assert_eq!(p.metadata["examples"], serde_json::json!([]));
    assert_eq!(p.metadata["author"], "me");
    assert!(!p.metadata.contains_key("createdAt"));
    assert!(!p.metadata.contains_key("version"));
}

#[test]
fn template_and_prompt_text_are_content_and_categories_is_category() {
    let p = one(
        "x.yaml",
        "id: a\nname: A\ntemplate: |\n  Hi {{who}}\ncategories: [writing, fun]\n",
    );
    assert_eq!(p.content, "Hi {{who}}\n");
    assert_eq!(p.category.as_deref(), Some("writing"));
    assert_eq!(
        p.metadata["categories"],
        serde_json::json!(["writing", "fun"])
    );
    let q = one("q.json", r#"{"prompt_text": "x", "categories": "ops"}"#);
    assert_eq!((q.id.as_str(), q.content.as_str()), ("q", "x"));
    assert_eq!(q.category.as_deref(), Some("ops"));
}

#[test]
fn variables_as_names_objects_maps_or_null() {
    let names = one("a.json", r#"{"content": "{{x}}", "variables": ["x"]}"#);
    assert!(!names.variables[0].required_explicit);
    let objects = one(
        "a.json",
        r#"{"content": "{{x}}", "variables": [{"name": "x", "description": "d", "required": false, "enum": ["p", "q"], "type": "string"}]}"#,
    );
    let v = &objects.variables[0];
    assert_eq!(v.variable.description.as_deref(), Some("d"));
    assert_eq!(v.variable.choices, vec!["p", "q"]);
    assert!(v.required_explicit && !v.variable.required);
    assert!(objects.notes[0].contains("type"), "{:?}", objects.notes);
    let map = one(
        "a.json",
        r#"{"content": "{{x}}", "variables": {"x": "the x"}}"#,
    );
    assert_eq!(
        map.variables[0].variable.description.as_deref(),
        Some("the x")
    );
    let null = one("a.json", r#"{"content": "{{x}}", "variables": null}"#);
    assert!(null.variables.is_empty());
    let r = null.resolve().unwrap();
    assert_eq!(r.prompt.variables[0].name, "x");
    assert!(r.warnings.is_empty());
}

#[test]
fn undeclared_variables_are_inferred_with_a_warning() {
    let p = one(
        "a.json",
        r#"{"content": "{{a}} {{#if b}}{{b}}{{/if}}", "variables": [{"name": "a", "description": "the a"}]}"#,
    );
    let r = p.resolve().unwrap();
    let vars: Vec<_> = r
        .prompt
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.required, v.description.is_some()))
        .collect();
    assert_eq!(vars, vec![("a", true, true), ("b", false, false)]);
    assert_eq!(
        r.warnings,
        vec!["template uses undeclared variable b: imported with it inferred from the template"]
    );
}

#[test]
fn if_blocks_make_optional_arguments() {
    let p = one(
        "db.json",
        r#"{"content": "DB {{db}}{{#if q}}\nQuery: {{q}}{{/if}}", "isTemplate": true, "variables": ["db", "q"]}"#,
    );
    let r = p.resolve().unwrap().prompt;
    assert_eq!(
        r.variables.iter().map(|v| v.required).collect::<Vec<_>>(),
        vec![true, false]
    );
}

#[test]
fn markdown_front_matter_and_body() {
    let p = one(
        "writing/story.md",
        "---\nid: story\nname: Story\ntags: [fiction]\n---\n\nWrite about {{topic}}.\n",
    );
    assert_eq!(p.content, "Write about {{topic}}.");
    assert_eq!(p.tags, vec!["fiction"]);
    assert_eq!(p.category.as_deref(), Some("writing"));
}

#[test]
fn text_is_all_content_named_by_its_file() {
    let p = one("ops/Deploy Check.txt", "Check {{service}}\n");
    assert_eq!(
        (p.id.as_str(), p.name.as_str()),
        ("deploy-check", "deploy-check")
    );
    assert_eq!(p.content, "Check {{service}}");
    assert_eq!(p.category.as_deref(), Some("ops"));
}

#[test]
fn broken_files_name_the_line_and_the_reason() {
    let e = parse_file("bad.json", "{\n  \"name\": \"x\",\n  \"content\": \n}").unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.to_string().starts_with("line 4: invalid JSON"), "{e}");
    let e = parse_file("bad.yaml", "name: x\ncontent: [unclosed\ntags: a\n").unwrap_err();
    assert!(e.line.is_some() && e.reason.contains("invalid YAML"), "{e}");
    let e = parse_file("open.md", "---\nname: x\nno closing\n").unwrap_err();
    assert!(e.reason.contains("never closed"), "{e}");
    let e = parse_file("m.md", "---\nname: x\n  bad: [\n---\nbody").unwrap_err();
    assert!(e.line.is_some_and(|l| l >= 2), "{e}");
    let e = parse_file("empty.json", r#"{"name": "No content", "tags": []}"#).unwrap_err();
    assert!(e.reason.contains("missing content"), "{e}");
}

#[test]
fn indexes_readmes_and_documents_are_not_prompts() {
    skipped("development/index.json", r#"["code-review.json"]"#);
    skipped("development/index.json", "{}");
    skipped("README.md", "# The catalog\n");
    skipped("notes.md", "# Notes\n");
    skipped("README.txt", "read me");
    skipped(
        "prompt.schema.json",
        r#"{"$schema": "x", "title": "Prompt", "type": "object"}"#,
    );
    assert_eq!(
        one("readme.json", r#"{"content": "x"}"#).id.as_str(),
        "readme"
    );
    skipped("logo.png", "");
    assert!(layout::is_hidden(".git/config"));
}

#[test]
fn a_list_of_prompts_in_one_file() {
    let all = prompts(
        "all.json",
        r#"[{"name": "One", "content": "1"}, {"id": "two", "name": "Two", "content": "2"}]"#,
    );
    let ids: Vec<_> = all.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, vec!["one", "two"]);
}

#[test]
fn duplicates_identical_merge_and_different_conflict() {
    let a = one("code-review.json", r#"{"id": "cr", "content": "x"}"#)
        .resolve()
        .unwrap()
        .prompt;
    let b = one("development/cr.json", r#"{"id": "cr", "content": "x"}"#)
        .resolve()
        .unwrap()
        .prompt;
    let c = one("other/cr.json", r#"{"id": "cr", "content": "y"}"#)
        .resolve()
        .unwrap()
        .prompt;
    let src = |path, prompt, folder| duplicates::Sourced {
        path,
        prompt,
        category_from_folder: folder,
    };
    let same = merge_duplicates(&[
        src("cr.json", &a, false),
        src("development/cr.json", &b, true),
    ]);
    assert_eq!(
        same,
        vec![
            Duplicate::SameAs {
                of: "development/cr.json".into()
            },
            Duplicate::Kept
        ]
    );
    let conflict = merge_duplicates(&[src("cr.json", &a, false), src("other/cr.json", &c, true)]);
    assert!(matches!(&conflict[0], Duplicate::Conflict { with } if with == &["other/cr.json"]));
    assert!(matches!(&conflict[1], Duplicate::Conflict { .. }));
}

#[test]
fn export_paths_follow_categories() {
    let p = one("dev/a.json", r#"{"content": "x"}"#)
        .resolve()
        .unwrap()
        .prompt;
    assert_eq!(export(&p, Format::Yaml).path, "dev/a.yaml");
    let top = one("a.json", r#"{"content": "x"}"#)
        .resolve()
        .unwrap()
        .prompt;
    assert_eq!(export(&top, Format::Markdown).path, "a.md");
    let odd = one("a.json", r#"{"content": "x", "category": "../up"}"#)
        .resolve()
        .unwrap()
        .prompt;
    assert_eq!(export(&odd, Format::Json).path, "a.json");
    assert_eq!(export(&odd, Format::Text).lost.len(), 1);
}

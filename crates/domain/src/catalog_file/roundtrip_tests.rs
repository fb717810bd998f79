//! Export → parse gives back the same prompts, in every format: random prompts
//! (YAML-hostile text, `{{#if}}` blocks, content starting or ending with line
//! ends, nested categories, metadata of every JSON kind).

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::*;
use crate::prompt::{Prompt, PromptDraft};
use crate::variable::{DeclaredVariable, Variable};

/// Text without braces or backslashes (which would be template syntax).
fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^{}\\\\\r]{0,12}",
        Just("\n".to_string()),
        Just("---\n".to_string()),
        Just("yes".to_string()),
        Just(": # - ' \" @ `".to_string()),
        Just("  trailing  \n\t".to_string()),
    ]
}

fn var_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,6}"
}

/// A template of literal text, `{{var}}` and `{{#if var}}...{{/if}}`.
fn content() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => literal(),
        2 => var_name().prop_map(|v| format!("{{{{{v}}}}}")),
        1 => (var_name(), literal()).prop_map(|(v, t)| format!("{{{{#if {v}}}}}{t}{{{{{v}}}}}{{{{/if}}}}")),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|p| p.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,10}".prop_map(Value::String),
        Just(Value::String("null".into())),
        Just(Value::String("1.0".into())),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9 _-]{0,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn category() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        "[a-z][a-z0-9-]{0,8}".prop_map(Some),
        "[a-z]{1,5}/[a-z]{1,5}".prop_map(Some),
        Just(Some("Data Science".to_string())),
        Just(Some("a:b".to_string())),
    ]
}

prop_compose! {
    fn full_prompt()(
        id in "[a-z0-9][a-z0-9._-]{0,20}",
        name in "\\PC{1,20}",
        description in prop_oneof!["\\PC{0,30}", literal()],
        content in content(),
        is_template in prop::option::of(any::<bool>()),
        describe in any::<bool>(),
        tags in prop::collection::vec("\\PC{1,8}", 0..4),
        category in category(),
        metadata in prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", json_value(), 0..4),
    ) -> Option<Prompt> {
        let vars = crate::template::analyze(&content).ok()?;
        let variables = describe.then(|| {
            vars.variables
                .iter()
                .map(|(name, required)| DeclaredVariable {
                    variable: Variable {
                        name: name.clone(),
                        description: Some(format!("the {name}: yes")),
                        required: *required,
                        choices: vec!["a".into(), "no".into()],
                    },
                    required_explicit: true,
                })
                .collect()
        });
        PromptDraft {
            id: Some(id),
            name,
            description: Some(description),
            content,
            is_template,
            variables,
            tags: Some(tags),
            category,
            metadata: Some(metadata.into_iter().collect::<Map<_, _>>()),
        }
        .into_prompt(1, "", "")
        .ok()
    }
}

/// What a text file can carry: the content, the id as name, a folder category.
fn text_prompt() -> impl Strategy<Value = Option<Prompt>> {
    (
        "[a-z0-9][a-z0-9_-]{0,20}",
        content(),
        prop_oneof![Just(None), "[a-z]{1,5}(/[a-z]{1,5})?".prop_map(Some)],
    )
        .prop_map(|(id, content, category)| {
            PromptDraft {
                id: Some(id.clone()),
                name: id,
                content,
                category,
                ..Default::default()
            }
            .into_prompt(1, "", "")
            .ok()
        })
}

fn read_back(prompt: &Prompt, format: Format) -> Result<Prompt, String> {
    let file = export(prompt, format);
    let parsed = parse_file(&file.path, &file.text).map_err(|e| format!("{e}\n{}", file.text))?;
    let FileContent::Prompts(mut all) = parsed else {
        return Err(format!("not a prompt: {parsed:?}\n{}", file.text));
    };
    let back = all.remove(0).resolve().map_err(|e| e.to_string())?;
    if !back.warnings.is_empty() {
        return Err(format!("warnings {:?}", back.warnings));
    }
    Ok(back.prompt)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn json_yaml_and_markdown_round_trip_every_field(prompt in full_prompt()) {
        let Some(prompt) = prompt else { return Ok(()) };
        for format in [Format::Json, Format::Yaml, Format::Markdown] {
            let back = read_back(&prompt, format).map_err(TestCaseError::fail)?;
            prop_assert!(same_fields(&prompt, &back), "{format:?}\n{prompt:#?}\n{back:#?}\n{}", export(&prompt, format).text);
        }
    }

    #[test]
    fn text_round_trips_what_it_can_carry(prompt in text_prompt()) {
        let Some(prompt) = prompt else { return Ok(()) };
        let file = export(&prompt, Format::Text);
        prop_assert!(file.lost.is_empty(), "{:?}", file.lost);
        let back = read_back(&prompt, Format::Text).map_err(TestCaseError::fail)?;
        prop_assert!(same_fields(&prompt, &back), "{prompt:#?}\n{back:#?}");
    }
}

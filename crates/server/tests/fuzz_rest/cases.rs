//! The generated requests of `fuzz_rest.rs`, each with what it must get
//! back: one strategy per kind of bad input.

use axum::http::{HeaderValue, Method};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Largest body the router reads (413 beyond), and largest template saved.
pub const MAX_BODY: usize = 64 * 1024;
pub const MAX_TEMPLATE: usize = 16 * 1024;
/// The seeded prompt is at version 2 with the label `prod` on version 1.
const SEED_VERSION: u64 = 2;

#[derive(Debug, Clone)]
pub struct Case {
    pub method: Method,
    pub path: String,
    /// `None`: no `Content-Type` header.
    pub content_type: Option<Vec<u8>>,
    pub if_match: Option<String>,
    pub body: Vec<u8>,
    pub expect: Expect,
}

#[derive(Debug, Clone)]
pub struct Expect {
    pub status: u16,
    /// The problem's kind (`type` ends with `/problems/{kind}`): one of these.
    pub kinds: &'static [&'static str],
    /// The problem's `field` starts with this.
    pub field: Option<String>,
}

fn expect(status: u16, kinds: &'static [&'static str], field: Option<&str>) -> Expect {
    Expect {
        status,
        kinds,
        field: field.map(str::to_string),
    }
}

const BAD_INPUT: &[&str] = &["malformed-json", "invalid-field"];

/// An endpoint that reads a JSON body, with a body it accepts.
fn endpoint() -> impl Strategy<Value = (Method, &'static str, Value)> {
    prop_oneof![
        "[a-z]{1,8}".prop_map(|s| (
            Method::POST,
            "/prompts",
            json!({"id": format!("fz-{s}"), "name": s, "content": "c"})
        )),
        Just((Method::PUT, "/prompts/seed", json!({"description": "d"}))),
        Just((
            Method::POST,
            "/prompts/seed/apply",
            json!({"variables": {"name": "x"}})
        )),
        Just((
            Method::PUT,
            "/prompts/seed/labels/prod",
            json!({"version": 1})
        )),
    ]
}

fn case(method: Method, path: &str, body: Vec<u8>, expect: Expect) -> Case {
    Case {
        method,
        path: path.to_string(),
        content_type: Some(b"application/json".to_vec()),
        if_match: None,
        body,
        expect,
    }
}

fn to_bytes(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Anything but `application/json`: absent, other types, garbage bytes.
fn wrong_media() -> impl Strategy<Value = Case> {
    let media = prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "text/plain",
            "application/jsonx",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json-patch+json",
            "application/problem+json",
            "json",
            "",
        ])
        .prop_map(|m| Some(m.as_bytes().to_vec())),
        "[a-z/+.;= -]{0,24}".prop_map(|m| Some(m.into_bytes())),
        prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 1..24).prop_map(Some),
    ]
    .prop_filter("not JSON", |m| {
        m.as_ref().is_none_or(|m| {
            let text = String::from_utf8_lossy(m);
            let media = text.split(';').next().unwrap_or_default().trim();
            !media.eq_ignore_ascii_case("application/json") && HeaderValue::from_bytes(m).is_ok()
        })
    });
    (endpoint(), media).prop_map(|((method, path, body), media)| Case {
        content_type: media,
        ..case(
            method,
            path,
            to_bytes(&body),
            expect(415, &["unsupported-media-type"], None),
        )
    })
}

/// A body one byte to a few KB over the limit.
fn too_large() -> impl Strategy<Value = Case> {
    (endpoint(), 1usize..4096).prop_map(|((method, path, _), over)| {
        let pad = "x".repeat(MAX_BODY + over);
        let body = format!(r#"{{"name":"n","content":"{pad}"}}"#).into_bytes();
        case(method, path, body, expect(413, &["too-large"], None))
    })
}

/// Bytes that are not a JSON text of the right shape: random bytes, truncated
/// or padded valid bodies, invalid UTF-8 inside a string, deep nesting.
fn not_json() -> impl Strategy<Value = Case> {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| (b, None)),
        (any::<usize>()).prop_map(|cut| (b"{}".to_vec(), Some(cut))),
        // A lone continuation byte, then anything: never valid UTF-8.
        (0x80u8..0xc0, prop::collection::vec(0x80u8..=0xff, 0..3)).prop_map(|(first, more)| {
            let bad = [vec![first], more].concat();
            let mut b = br#"{"name":"n","content":"a"#.to_vec();
            b.extend(bad);
            b.extend(br#"b"}"#);
            (b, None)
        }),
        "[\\]}a,:0][ \\]}a,:0]{0,3}".prop_map(|tail| (
            format!(r#"{{"name":"n","content":"c"}}{tail}"#).into_bytes(),
            None
        )),
        Just((
            b"\xef\xbb\xbf{\"name\":\"n\",\"content\":\"c\"}".to_vec(),
            None
        )),
        (130usize..8_000, any::<bool>()).prop_map(|(n, object)| {
            let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
            let deep = format!("{}1{}", open.repeat(n), close.repeat(n));
            let body = format!(r#"{{"name":"n","content":"c","metadata":{{"d":{deep}}}}}"#);
            (body.into_bytes(), None)
        }),
    ];
    (endpoint(), bytes).prop_map(|((method, path, valid), (bytes, cut))| {
        let body = match cut {
            // A valid body cut short (never empty of meaning: at least one byte gone).
            Some(cut) => {
                let full = to_bytes(&valid);
                full[..cut % full.len()].to_vec()
            }
            None => bytes,
        };
        // A field can be refused before the parser reaches the bad byte.
        case(method, path, body, expect(400, BAD_INPUT, None))
    })
}

/// A JSON value that is not of the given kind.
fn wrong_value(kind: &'static str) -> impl Strategy<Value = Value> {
    let all = vec![
        json!(7),
        json!(-1),
        json!(1.5),
        json!(true),
        json!("s"),
        json!([]),
        json!(["s"]),
        json!({}),
        json!({"a": 1}),
        json!(null),
    ];
    let keep: Vec<Value> = all
        .into_iter()
        .filter(|v| match kind {
            "string" => !v.is_string() && !v.is_null(),
            "required-string" => !v.is_string(),
            "bool" => !v.is_boolean() && !v.is_null(),
            "array" => !v.is_array() && !v.is_null(),
            "object" => !v.is_object() && !v.is_null(),
            "u64" => !v.is_u64() && !v.is_null(),
            "required-u64" => !v.is_u64(),
            _ => unreachable!(),
        })
        .collect();
    prop::sample::select(keep)
}

/// The draft fields, their kind, and wrong element values for the arrays.
const DRAFT_FIELDS: &[(&str, &str)] = &[
    ("id", "string"),
    ("name", "required-string"),
    ("description", "string"),
    ("content", "required-string"),
    ("isTemplate", "bool"),
    ("variables", "array"),
    ("tags", "array"),
    ("category", "string"),
    ("metadata", "object"),
];

/// Unknown members added to a body (ignored by drafts and patches).
fn unknown_fields() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::vec(("zz[a-z]{0,6}", any::<i64>().prop_map(Value::from)), 0..3)
}

/// One field of an otherwise valid draft or patch with the wrong type, or a
/// required one missing, or an array with a wrong element.
fn wrong_type() -> impl Strategy<Value = Case> {
    let field = prop::sample::select(DRAFT_FIELDS.to_vec());
    let mutation = field.prop_flat_map(|(name, kind)| {
        let element = prop_oneof![
            wrong_value("required-string").prop_map(|v| (json!(["ok", v]), "[1]")),
            Just((json!([7]), "[0]")),
        ];
        let whole = wrong_value(kind).prop_map(|v| (v, ""));
        let value = if kind == "array" {
            prop_oneof![whole, element].boxed()
        } else {
            whole.boxed()
        };
        (Just(name), value)
    });
    let create = (
        mutation.clone(),
        any::<bool>(),
        unknown_fields(),
        "[a-z]{1,8}",
    )
        .prop_map(|((name, (value, suffix)), missing, unknown, s)| {
            let mut body = json!({"id": format!("fz-{s}"), "name": s, "content": "c"});
            let required = name == "name" || name == "content";
            if missing && required {
                body.as_object_mut().unwrap().remove(name);
            } else {
                body[name] = value;
            }
            for (k, v) in unknown {
                body[k] = v;
            }
            let field = if missing && required {
                name.to_string()
            } else {
                format!("{name}{suffix}")
            };
            Case {
                expect: expect(400, &["invalid-field"], Some(&field)),
                ..case(
                    Method::POST,
                    "/prompts",
                    to_bytes(&body),
                    expect(400, &[], None),
                )
            }
        });
    let patch_field = prop::sample::select(
        DRAFT_FIELDS
            .iter()
            .filter(|(n, _)| *n != "id")
            .copied()
            .collect::<Vec<_>>(),
    );
    let update = (
        prop_oneof![
            patch_field.prop_flat_map(|(name, kind)| {
                let kind = if kind == "required-string" {
                    "string"
                } else {
                    kind
                };
                (Just(name), wrong_value(kind))
            }),
            wrong_value("u64").prop_map(|v| ("expectedVersion", v)),
            prop::sample::select(vec![
                json!(1e300),
                json!(-5),
                json!("2"),
                json!(2.0),
                json!(u64::MAX as f64 * 16.0),
            ])
            .prop_map(|v| ("expectedVersion", v)),
        ],
        unknown_fields(),
    )
        .prop_map(|((name, value), unknown)| {
            let mut body = json!({"description": "d"});
            body[name] = value;
            for (k, v) in unknown {
                body[k] = v;
            }
            case(
                Method::PUT,
                "/prompts/seed",
                to_bytes(&body),
                expect(400, &["invalid-field"], Some(name)),
            )
        });
    let huge = (
        prop::sample::select(vec![
            "1e400",
            "-1e400",
            "123456789012345678901234567890",
            "1e-400",
        ]),
        prop::sample::select(vec!["isTemplate", "expectedVersion", "name", "tags"]),
        any::<bool>(),
    )
        .prop_map(|(n, name, post)| {
            // A create ignores `expectedVersion` (an unknown member there).
            let post = post && name != "expectedVersion";
            let (method, path) = if post {
                (Method::POST, "/prompts")
            } else {
                (Method::PUT, "/prompts/seed")
            };
            let body = format!(r#"{{"id":"fz-huge","name":"n","content":"c","{name}":{n}}}"#);
            case(
                method,
                path,
                body.into_bytes(),
                expect(400, BAD_INPUT, None),
            )
        });
    prop_oneof![4 => create, 3 => update, 1 => huge]
}

/// Well-formed JSON whose values the catalog refuses: bad templates, oversize
/// content, empty names, bad or taken ids.
fn refused_values() -> impl Strategy<Value = Case> {
    let bad_template = prop::sample::select(vec![
        "{{#if a}}never closed",
        "{{/each}}",
        "{{> missing-partial-zz}}",
        "{{#each}}{{/if}}",
        "{{",
        "{{> Bad Id!}}",
        "{{#with}}x",
    ]);
    let create = prop_oneof![
        ("[a-z ]{0,12}", bad_template.clone()).prop_map(|(prefix, t)| {
            let body = json!({"id": "fz-t", "name": "n", "content": format!("{prefix}{t}"), "isTemplate": true});
            (body, 400, "invalid-field", "content")
        }),
        (1usize..4096).prop_map(|over| {
            let body = json!({"id": "fz-big", "name": "n", "content": "y".repeat(MAX_TEMPLATE + over)});
            (body, 400, "invalid-field", "content")
        }),
        "[ \t]{0,4}".prop_map(|name| (json!({"id": "fz-e", "name": name, "content": "c"}), 400, "invalid-field", "name")),
        prop::sample::select(vec!["", "Bad Id", "UPPER", "-lead", "a/b", "é"]).prop_map(|id| {
            (json!({"id": id, "name": "n", "content": "c"}), 400, "invalid-field", "id")
        }),
        "[!?* ]{1,6}".prop_map(|name| (json!({"name": name, "content": "c"}), 400, "invalid-field", "id")),
        Just((json!({"id": "seed", "name": "n", "content": "c"}), 409, "already-exists", "")),
    ]
    .prop_map(|(body, status, kind, field)| {
        let kinds: &'static [&'static str] = match kind {
            "invalid-field" => &["invalid-field"],
            _ => &["already-exists"],
        };
        let field = (!field.is_empty()).then_some(field);
        case(Method::POST, "/prompts", to_bytes(&body), expect(status, kinds, field))
    });
    let update = (bad_template, prop::option::of(Just(SEED_VERSION))).prop_map(|(t, v)| {
        let mut body = json!({"content": t, "isTemplate": true});
        if let Some(v) = v {
            body["expectedVersion"] = json!(v);
        }
        case(
            Method::PUT,
            "/prompts/seed",
            to_bytes(&body),
            expect(400, &["invalid-field"], Some("content")),
        )
    });
    prop_oneof![2 => create, 1 => update]
}

/// Versions other than the current one (1 is in history; 3.. never existed).
fn stale_version() -> impl Strategy<Value = u64> {
    prop_oneof![Just(1u64), 3u64..1_000_000, Just(u64::MAX)]
}

/// Valid writes that name a version that is not the current one, or a
/// precondition that is not a version at all.
fn stale() -> impl Strategy<Value = Case> {
    let patch = prop_oneof![
        "[a-z ]{0,20}".prop_map(|d| json!({"description": d})),
        prop::collection::vec("[a-z]{1,6}", 0..4).prop_map(|t| json!({"tags": t})),
        Just(json!({"content": "Hi {{name}}", "isTemplate": true})),
    ];
    let garbage_tag = prop_oneof![
        Just("\"x\"".to_string()),
        Just("W/\"\"".to_string()),
        Just("-1".to_string()),
        "[a-z ]{1,10}",
    ];
    prop_oneof![
        (patch.clone(), stale_version()).prop_map(|(mut body, v)| {
            body["expectedVersion"] = json!(v);
            case(
                Method::PUT,
                "/prompts/seed",
                to_bytes(&body),
                expect(409, &["version-conflict"], None),
            )
        }),
        (patch.clone(), stale_version(), any::<bool>()).prop_map(|(body, v, weak)| Case {
            if_match: Some(if weak {
                format!("W/\"{v}\"")
            } else {
                format!("\"{v}\"")
            }),
            ..case(
                Method::PUT,
                "/prompts/seed",
                to_bytes(&body),
                expect(412, &["precondition-failed"], None)
            )
        }),
        (patch.clone(), 1u64..1000).prop_map(|(mut body, v)| {
            body["expectedVersion"] = json!(v + 1);
            Case {
                if_match: Some(format!("\"{v}\"")),
                ..case(
                    Method::PUT,
                    "/prompts/seed",
                    to_bytes(&body),
                    expect(400, &["invalid-field"], Some("expectedVersion")),
                )
            }
        }),
        (patch, garbage_tag.clone()).prop_map(|(body, tag)| Case {
            if_match: Some(tag),
            ..case(
                Method::PUT,
                "/prompts/seed",
                to_bytes(&body),
                expect(400, &["invalid-precondition"], Some("If-Match"))
            )
        }),
        stale_version().prop_map(|v| Case {
            if_match: Some(format!("\"{v}\"")),
            ..case(
                Method::DELETE,
                "/prompts/seed",
                Vec::new(),
                expect(412, &["precondition-failed"], None)
            )
        }),
        garbage_tag.prop_map(|tag| Case {
            if_match: Some(tag),
            ..case(
                Method::DELETE,
                "/prompts/seed",
                Vec::new(),
                expect(400, &["invalid-precondition"], Some("If-Match"))
            )
        }),
    ]
}

/// Paths naming a prompt that does not exist, or an invalid id or label.
fn missing_targets() -> impl Strategy<Value = Case> {
    let missing = "zz-[a-z0-9]{1,8}";
    let bad_id = prop::sample::select(vec!["Bad%20Id", "UPPER", "-x", "%C3%A9", "a%2Fb"]);
    prop_oneof![
        missing.prop_map(|id| case(
            Method::PUT,
            &format!("/prompts/{id}"),
            to_bytes(&json!({"description": "d"})),
            expect(404, &["not-found"], None)
        )),
        missing.prop_map(|id| case(
            Method::DELETE,
            &format!("/prompts/{id}"),
            Vec::new(),
            expect(404, &["not-found"], None)
        )),
        missing.prop_map(|id| case(
            Method::POST,
            &format!("/prompts/{id}/apply"),
            b"{}".to_vec(),
            expect(404, &["not-found"], None)
        )),
        missing.prop_map(|id| case(
            Method::PUT,
            &format!("/prompts/{id}/labels/prod"),
            to_bytes(&json!({"version": 1})),
            expect(404, &["not-found"], None)
        )),
        (
            bad_id,
            prop::sample::select(vec![
                (Method::PUT, "", r#"{"description":"d"}"#),
                (Method::DELETE, "", ""),
                (Method::POST, "/apply", "{}"),
                (Method::PUT, "/labels/prod", r#"{"version":1}"#),
            ])
        )
            .prop_map(|(id, (method, tail, body))| case(
                method,
                &format!("/prompts/{id}{tail}"),
                body.as_bytes().to_vec(),
                expect(400, &["invalid-field"], Some("id"))
            )),
        prop::sample::select(vec!["123", "a%20b", "x!", "%C3%A9"]).prop_map(|label| case(
            Method::PUT,
            &format!("/prompts/seed/labels/{label}"),
            to_bytes(&json!({"version": 1})),
            expect(400, &["invalid-field"], Some("label"))
        )),
    ]
}

/// Render and label bodies the endpoints refuse.
fn refused_reads_and_labels() -> impl Strategy<Value = Case> {
    let apply = prop_oneof![
        wrong_value("object").prop_map(|v| (json!({"variables": v}), 400, "variables")),
        wrong_value("u64").prop_map(|v| (
            json!({"version": v, "variables": {"name": "x"}}),
            400,
            "version"
        )),
        Just((
            json!({"version": 0, "variables": {"name": "x"}}),
            400,
            "version"
        )),
        (3u64..100).prop_map(|v| (json!({"version": v, "variables": {"name": "x"}}), 404, "")),
        "[a-z]{1,8}".prop_map(|l| (
            json!({"label": format!("no-{l}"), "variables": {"name": "x"}}),
            404,
            ""
        )),
        Just((
            json!({"label": "Bad Label!", "variables": {"name": "x"}}),
            400,
            "label"
        )),
        Just((
            json!({"label": "prod", "version": 1, "variables": {"name": "x"}}),
            400,
            "label"
        )),
        "[a-z]{1,8}".prop_map(|k| (
            json!({"variables": {"name": "x"}, format!("zz{k}"): 1}),
            400,
            ""
        )),
        Just((json!({"variables": {}}), 400, "variables.name")),
    ]
    .prop_map(|(body, status, field)| {
        let kinds: &'static [&'static str] = if status == 404 {
            &["not-found"]
        } else {
            &["invalid-field"]
        };
        case(
            Method::POST,
            "/prompts/seed/apply",
            to_bytes(&body),
            expect(status, kinds, (!field.is_empty()).then_some(field)),
        )
    });
    let label = prop_oneof![
        wrong_value("required-u64").prop_map(|v| (json!({"version": v}), 400, "version")),
        Just((json!({}), 400, "version")),
        (3u64..1000).prop_map(|v| (json!({"version": v}), 404, "")),
        "[a-z]{1,8}".prop_map(|k| (json!({"version": 1, format!("zz{k}"): 1}), 400, "")),
    ]
    .prop_map(|(body, status, field)| {
        let kinds: &'static [&'static str] = if status == 404 {
            &["not-found"]
        } else {
            &["invalid-field"]
        };
        case(
            Method::PUT,
            "/prompts/seed/labels/prod",
            to_bytes(&body),
            expect(status, kinds, (!field.is_empty()).then_some(field)),
        )
    });
    prop_oneof![apply, label]
}

/// Methods the REST routes do not have.
fn wrong_method() -> impl Strategy<Value = Case> {
    prop::sample::select(vec![
        (Method::PATCH, "/prompts/seed"),
        (Method::POST, "/prompts/seed"),
        (Method::PUT, "/prompts"),
        (Method::DELETE, "/prompts"),
        (Method::PATCH, "/prompts"),
        (Method::GET, "/prompts/seed/apply"),
        (Method::DELETE, "/prompts/seed/labels/prod"),
        (Method::POST, "/prompts/seed/versions"),
    ])
    .prop_map(|(method, path)| {
        case(
            method,
            path,
            to_bytes(&json!({"description": "d"})),
            expect(405, &["method-not-allowed"], None),
        )
    })
}

pub fn any_case() -> impl Strategy<Value = Case> {
    prop_oneof![
        2 => wrong_media(),
        1 => too_large(),
        3 => not_json(),
        4 => wrong_type(),
        2 => refused_values(),
        2 => stale(),
        2 => missing_targets(),
        2 => refused_reads_and_labels(),
        1 => wrong_method(),
    ]
}

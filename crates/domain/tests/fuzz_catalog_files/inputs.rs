//! The generated catalog files of `fuzz_catalog_files.rs`: fixtures mutated
//! byte by byte, structured breakage with the error it must produce, hostile
//! nesting and aliases, random bytes.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Input {
    pub path: String,
    pub text: String,
    /// When known: the error must start with this and mention `field`.
    pub error: Option<(String, &'static str)>,
}

/// The fixture files, as (path relative to the catalog root, text).
pub fn fixtures() -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/catalog");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    assert!(out.len() >= 10, "fixtures missing: {out:?}");
    out
}

const PATHS: &[&str] = &[
    "p.json",
    "dev/p.json",
    "a/b/p.yaml",
    "p.yml",
    "notes/p.md",
    "p.txt",
    "dev/index.json",
    "README.md",
    "UPPER Case.json",
    "-.yaml",
    "p.bin",
];

#[derive(Debug, Clone)]
enum Op {
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize),
    Truncate(usize),
    Replace(usize, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let interesting = prop::sample::select(b"{}[]\":,-\n\r\t #&*!|>'\\\x00{{}}".to_vec());
    prop_oneof![
        (any::<usize>(), 1usize..16).prop_map(|(p, n)| Op::Delete(p, n)),
        (
            any::<usize>(),
            prop::collection::vec(prop_oneof![any::<u8>(), interesting.clone()], 1..8)
        )
            .prop_map(|(p, b)| Op::Insert(p, b)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Op::Duplicate(p, n)),
        any::<usize>().prop_map(Op::Truncate),
        (any::<usize>(), interesting).prop_map(|(p, b)| Op::Replace(p, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, ops: &[Op]) -> Vec<u8> {
    for op in ops {
        let len = bytes.len().max(1);
        match op {
            Op::Delete(p, n) => {
                let p = p % len;
                let end = (p + n).min(bytes.len());
                bytes.drain(p.min(end)..end);
            }
            Op::Insert(p, b) => {
                let p = p % (bytes.len() + 1);
                bytes.splice(p..p, b.iter().copied());
            }
            Op::Duplicate(p, n) => {
                let p = p % len;
                let end = (p + n).min(bytes.len());
                let copy = bytes[p.min(end)..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Op::Truncate(p) => bytes.truncate(p % len),
            Op::Replace(p, b) => {
                if !bytes.is_empty() {
                    let p = p % bytes.len();
                    bytes[p] = *b;
                }
            }
        }
    }
    bytes
}

/// A fixture with a few byte edits, read under its own path or another one.
pub fn mutated(seeds: Vec<(String, String)>) -> impl Strategy<Value = Input> {
    let n = seeds.len();
    (
        0..n,
        prop::collection::vec(op(), 1..5),
        prop::option::weighted(0.3, prop::sample::select(PATHS)),
    )
        .prop_map(move |(i, ops, other)| {
            let (path, text) = &seeds[i];
            let bytes = apply(text.clone().into_bytes(), &ops);
            Input {
                path: other.map_or_else(|| path.clone(), str::to_string),
                text: String::from_utf8_lossy(&bytes).into_owned(),
                error: None,
            }
        })
}

pub fn random_bytes() -> impl Strategy<Value = Input> {
    (
        prop::collection::vec(any::<u8>(), 0..256),
        prop::sample::select(PATHS),
    )
        .prop_map(|(b, p)| Input {
            path: p.to_string(),
            text: String::from_utf8_lossy(&b).into_owned(),
            error: None,
        })
}

/// A field of a prompt object, a value of the wrong type for it, and the word
/// its error must contain.
fn wrong_field() -> impl Strategy<Value = (&'static str, Value, &'static str)> {
    let not_text = prop::sample::select(vec![json!(true), json!([1]), json!({"a": 1})]);
    let not_bool = prop::sample::select(vec![json!(1), json!("yes"), json!([]), json!({})]);
    let not_object = prop::sample::select(vec![json!(1), json!("m"), json!([]), json!(false)]);
    prop_oneof![
        not_text.clone().prop_map(|v| ("content", v, "'content'")),
        not_text.clone().prop_map(|v| ("name", v, "'name'")),
        not_text
            .clone()
            .prop_map(|v| ("description", v, "'description'")),
        prop::sample::select(vec![json!(1), json!(true), json!([]), json!({})])
            .prop_map(|v| ("id", v, "'id'")),
        not_bool.prop_map(|v| ("isTemplate", v, "'isTemplate'")),
        prop::sample::select(vec![json!(1), json!(true), json!({"a": 1})])
            .prop_map(|v| ("tags", v, "'tags'")),
        prop::sample::select(vec![json!([{}]), json!(["a", [1]])]).prop_map(|v| ("tags", v, "tag")),
        not_object.prop_map(|v| ("metadata", v, "'metadata'")),
        prop::sample::select(vec![json!(1), json!(true), json!("x")]).prop_map(|v| (
            "variables",
            v,
            "'variables'"
        )),
    ]
}

/// `k` valid prompts with entry `j` broken, as one object or a list, in JSON
/// or YAML (JSON text is YAML, and the block style is written by hand).
pub fn broken_entry() -> impl Strategy<Value = Input> {
    (
        1usize..6,
        any::<usize>(),
        wrong_field(),
        0u8..4,
        "[a-z]{1,8}",
    )
        .prop_map(|(k, j, (field, value, word), shape, s)| {
            let j = j % k;
            let entries: Vec<Value> = (0..k)
                .map(|i| {
                    let mut e = json!({"id": format!("{s}-{i}"), "name": format!("N {i}"),
                        "content": "Hello {{who}}", "tags": ["t"]});
                    if i == j {
                        e[field] = value.clone();
                    }
                    e
                })
                .collect();
            let (text, path, prefix) = match shape {
                0 if k == 1 => (entries[0].to_string(), "dev/one.json", String::new()),
                0 | 1 => (
                    json!(entries).to_string(),
                    "dev/many.json",
                    format!("prompt [{j}]"),
                ),
                2 => (
                    json!({"prompts": entries}).to_string(),
                    "many.yaml",
                    format!("prompt [{j}]"),
                ),
                _ => (
                    json!(entries).to_string(),
                    "flow.yml",
                    format!("prompt [{j}]"),
                ),
            };
            Input {
                path: path.to_string(),
                text,
                error: Some((prefix, word)),
            }
        })
}

/// Front matter that is not closed, not a mapping, not YAML, or gives the
/// content twice.
pub fn broken_front_matter() -> impl Strategy<Value = Input> {
    let body = "[a-z \n]{0,40}";
    prop_oneof![
        body.prop_map(
            |b| ("---\nid: x\nname: y\n".to_string() + &b.replace("---", ""))
                .replace("\n---\n", "\n")
        )
        .prop_filter("never closed", |t| !t
            .lines()
            .skip(1)
            .any(|l| l == "---" || l == "..."))
        .prop_map(|t| (t, "line 1")),
        body.prop_map(|b| (format!("---\n- a\n- b\n---\n{b}"), "line 2")),
        (body, 0usize..5).prop_map(|(b, n)| {
            let pad = "x: 1\n".repeat(n);
            (format!("---\n{pad}id: [unclosed\n---\n{b}"), "line")
        }),
        "[a-z]{1,20}".prop_map(|b| (format!("---\ncontent: c\n---\n{b}"), "content")),
    ]
    .prop_map(|(text, word)| Input {
        path: "writing/p.md".into(),
        text,
        error: Some((String::new(), word)),
    })
}

/// Deep nesting, huge numbers, alias bombs.
pub fn hostile() -> impl Strategy<Value = Input> {
    prop_oneof![
        (
            1usize..5_000,
            any::<bool>(),
            prop::sample::select(vec!["p.json", "p.yaml", "p.md"])
        )
            .prop_map(|(n, object, path)| {
                let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
                let deep = format!("{}1{}", open.repeat(n), close.repeat(n));
                let text = if path.ends_with(".md") {
                    format!("---\nmetadata: {deep}\n---\nbody")
                } else {
                    format!(r#"{{"content": "c", "metadata": {{"d": {deep}}}}}"#)
                };
                Input {
                    path: path.into(),
                    text,
                    // Past the parsers' 128 levels: refused, naming the line.
                    error: (n > 130).then(|| ("line ".to_string(), "")),
                }
            }),
        (
            prop::sample::select(vec![
                "1e400",
                "-1e400",
                "123456789012345678901234567890",
                "1e-400",
                "0x1F",
                ".inf",
                "NaN"
            ]),
            prop::sample::select(vec![
                "id",
                "name",
                "tags",
                "isTemplate",
                "content",
                "version"
            ]),
            prop::sample::select(vec!["p.json", "p.yaml"])
        )
            .prop_map(|(n, f, path)| Input {
                path: path.into(),
                text: format!(r#"{{"content": "c", "{f}": {n}}}"#),
                error: None,
            }),
        (2usize..8, 2usize..10).prop_map(|(levels, width)| {
            let mut text = String::from("a0: &a0 [x]\n");
            for l in 1..levels {
                let refs = vec![format!("*a{}", l - 1); width].join(", ");
                text.push_str(&format!("a{l}: &a{l} [{refs}]\n"));
            }
            text.push_str(&format!(
                "content: c\nmetadata: {{bomb: *a{}}}\n",
                levels - 1
            ));
            Input {
                path: "bomb.yaml".into(),
                text,
                error: None,
            }
        }),
    ]
}

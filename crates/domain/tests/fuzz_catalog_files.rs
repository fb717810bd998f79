//! Issue 17.5: generated catalog files through `catalog_file::parse_file` (and
//! `resolve` of whatever parses). The inputs are the fixture catalog
//! (`tests/fixtures/catalog`) mutated byte by byte and parsed under every
//! format's path, structured mutations (a wrong-typed field in entry `j` of a
//! multi-prompt file, broken front matter, deep nesting, huge numbers, YAML
//! alias bombs) and random bytes. Whatever arrives, the parser does not panic
//! and returns prompts, a reason it is not a prompt file, or an error whose
//! line lies in the file and which names the entry and field it is about.
//!
//! `CATALOG_FUZZ_CASES=N` changes the number of cases (default 100,000).

use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

use mcp_prompts_domain::catalog_file::{FileContent, ParseError, parse_file};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Input {
    path: String,
    text: String,
    /// When known: the error must start with this and mention `field`.
    error: Option<(String, &'static str)>,
}

/// The fixture files, as (path relative to the catalog root, text).
fn fixtures() -> Vec<(String, String)> {
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
fn mutated(seeds: Vec<(String, String)>) -> impl Strategy<Value = Input> {
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

fn random_bytes() -> impl Strategy<Value = Input> {
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
fn broken_entry() -> impl Strategy<Value = Input> {
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
fn broken_front_matter() -> impl Strategy<Value = Input> {
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
fn hostile() -> impl Strategy<Value = Input> {
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

fn check(input: &Input, outcome: Result<FileContent, ParseError>) -> Result<(), String> {
    // YAML counts a lone `\r` as a line break too; the end of the text may be
    // named as the line after the last break.
    let breaks = input.text.matches('\n').count() + input.text.matches('\r').count()
        - input.text.matches("\r\n").count();
    let lines = breaks + 2;
    let show = |what: &str| {
        format!(
            "{what} for {} {:?}",
            input.path,
            input.text.chars().take(300).collect::<String>()
        )
    };
    match outcome {
        Ok(FileContent::Prompts(prompts)) => {
            if let Some((prefix, word)) = &input.error {
                return Err(show(&format!("parsed, expected an error {prefix} {word}")));
            }
            if prompts.is_empty() {
                return Err(show("no prompts and no reason"));
            }
            for p in &prompts {
                if let Err(e) = p.resolve()
                    && e.to_string().is_empty()
                {
                    return Err(show("a resolve error without a message"));
                }
            }
            Ok(())
        }
        Ok(FileContent::NotAPrompt(why)) => {
            if input.error.is_some() || why.is_empty() {
                return Err(show(&format!("not a prompt ({why})")));
            }
            Ok(())
        }
        Err(e) => {
            let reason = &e.reason;
            if reason.is_empty() {
                return Err(show("an error without a reason"));
            }
            if e.line.is_some_and(|l| l == 0 || l > lines) {
                return Err(show(&format!(
                    "line {:?} outside the file's {lines} lines: {e}",
                    e.line
                )));
            }
            // Whole-document YAML errors (the alias repetition limit, a
            // second document) come without a location from yaml_serde.
            let document_wide =
                reason.contains("limit exceeded") || reason.contains("more than one document");
            if (reason.starts_with("invalid JSON") || reason.starts_with("invalid YAML"))
                && e.line.is_none()
                && !document_wide
            {
                return Err(show(&format!("a syntax error without its line: {e}")));
            }
            if let Some((prefix, word)) = &input.error
                && (!e.to_string().starts_with(prefix.as_str()) || !e.to_string().contains(word))
            {
                return Err(show(&format!("expected '{prefix}…{word}…', got '{e}'")));
            }
            Ok(())
        }
    }
}

/// What one worker saw: cases run, files parsed to prompts, errors, the
/// slowest input (time, bytes, path), and the verdict.
struct Part {
    ran: u32,
    prompts: u32,
    errors: u32,
    slowest: (Duration, usize, String),
    result: Result<(), String>,
}

fn run_part(seeds: Vec<(String, String)>, cases: u32) -> Part {
    let strategy = prop_oneof![
        5 => mutated(seeds),
        1 => random_bytes(),
        3 => broken_entry(),
        1 => broken_front_matter(),
        1 => hostile(),
    ];
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    });
    let part = RefCell::new(Part {
        ran: 0,
        prompts: 0,
        errors: 0,
        slowest: (Duration::ZERO, 0, String::new()),
        result: Ok(()),
    });
    let result = runner.run(&strategy, |input| {
        let t = Instant::now();
        let outcome = parse_file(&input.path, &input.text);
        if let Ok(FileContent::Prompts(ps)) = &outcome {
            // Resolving (template analysis) is part of reading a file.
            for p in ps {
                let _ = p.resolve();
            }
        }
        let took = t.elapsed();
        {
            let mut part = part.borrow_mut();
            part.ran += 1;
            match &outcome {
                Err(_) => part.errors += 1,
                Ok(FileContent::Prompts(_)) => part.prompts += 1,
                Ok(_) => {}
            }
            if took > part.slowest.0 {
                part.slowest = (took, input.text.len(), input.path.clone());
            }
        }
        check(&input, outcome).map_err(TestCaseError::fail)?;
        // A hang detector, not a performance figure: inputs are at most tens
        // of KB and parse in milliseconds.
        prop_assert!(
            took < Duration::from_secs(10),
            "{} took {took:?}",
            input.path
        );
        Ok(())
    });
    let mut part = part.into_inner();
    part.result = result.map_err(|e| e.to_string());
    part
}

#[test]
fn generated_catalog_files_parse_or_fail_naming_the_entry_and_line() {
    let cases: u32 = std::env::var("CATALOG_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let seeds = fixtures();
    // Every fixture as it is: the seeds themselves pass the same check.
    for (path, text) in &seeds {
        let input = Input {
            path: path.clone(),
            text: text.clone(),
            error: None,
        };
        check(&input, parse_file(path, text)).unwrap();
    }
    // Debug-build YAML parsing is the cost: the cases are split over threads.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 4) as u32;
    let started = Instant::now();
    let parts: Vec<Part> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let seeds = seeds.clone();
                s.spawn(move || run_part(seeds, cases.div_ceil(threads)))
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let sum = |f: fn(&Part) -> u32| parts.iter().map(f).sum::<u32>();
    let slowest = parts
        .iter()
        .map(|p| &p.slowest)
        .max_by_key(|s| s.0)
        .unwrap();
    println!(
        "catalog fuzz: {} generated files on {threads} threads in {:?} ({} parsed to prompts, {} errors); slowest {:?} ({} bytes, {})",
        sum(|p| p.ran),
        started.elapsed(),
        sum(|p| p.prompts),
        sum(|p| p.errors),
        slowest.0,
        slowest.1,
        slowest.2
    );
    for part in &parts {
        if let Err(e) = &part.result {
            panic!("{e}");
        }
    }
    assert!(sum(|p| p.ran) >= cases);
}

/// Deep YAML flow nesting is refused before yaml_serde scans it (its scan is
/// quadratic in the depth: 16k levels took 3 s in a debug build, so this file
/// would have taken minutes), naming the line where it goes too deep.
#[test]
fn deep_yaml_flow_nesting_is_refused_naming_its_line() {
    let deep = format!("{}1{}", "[".repeat(200_000), "]".repeat(200_000));
    for (path, text, line) in [
        ("p.yaml", format!("content: c\nmetadata: {deep}\n"), 2),
        (
            "p.md",
            format!("---\nid: x\nmetadata: {deep}\n---\nbody"),
            3,
        ),
    ] {
        let e = parse_file(path, &text).unwrap_err();
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.reason.contains("nested deeper than 128 levels"), "{e}");
    }
    // Brackets in quoted and plain scalars and comments are not nesting.
    let text = format!(
        "content: 'x{}'\nname: a{}\n# {}\n",
        "[".repeat(300),
        "[".repeat(300),
        "{".repeat(300)
    );
    let parsed = parse_file("p.yaml", &text);
    assert!(matches!(parsed, Ok(FileContent::Prompts(_))), "{parsed:?}");
}

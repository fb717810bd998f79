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
use std::time::{Duration, Instant};

use mcp_prompts_domain::catalog_file::{FileContent, ParseError, parse_file};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[path = "fuzz_catalog_files/inputs.rs"]
mod inputs;

use inputs::{Input, broken_entry, broken_front_matter, fixtures, hostile, mutated, random_bytes};

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

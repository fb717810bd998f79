//! `GET /openapi.json` against the real binary: the document is valid OpenAPI
//! 3.1 by the standard validator (`openapi-spec-validator`, which must also
//! refuse a broken copy), every documented operation is called with valid and
//! with bad inputs and each answer is checked against the document
//! (`openapi_contract`), every documented status is seen (or named below with
//! why not), under `--auth required` every REST operation is 401 without a
//! credential and every write 403 for a reader, as documented, and every
//! method a documented path does not list is 405, so the router takes no
//! undocumented method there. `/docs` serves its page and assets from the
//! binary.
//!
//! Environment: MCP_PROMPTS_PYTHON (python with openapi-spec-validator;
//! default .tools/venv/bin/python).

mod common;
mod openapi_contract;

use std::collections::BTreeSet;
use std::process::Command;

use common::TestServer;
use common::http::request;
use openapi_contract::{Call, Contract, Input};
use serde_json::{Value, json};

const JSON: (&str, &str) = ("Content-Type", "application/json");
/// Small limits so that 413 and 422 are cheap to reach.
/// Subscribers may point at 127.0.0.1 (nothing listens there: deliveries just retry).
const ARGS: &[&str] = &[
    "--max-message-bytes",
    "20000",
    "--max-output-bytes",
    "4000",
    "--subscriber-allow-private",
];

/// Statuses documented but not reached here, and why.
const NOT_REACHED: &[(u16, &str)] = &[
    (
        401,
        "only under --auth required: the_guard_answers_as_documented",
    ),
    (
        403,
        "only for a role that cannot write: the_guard_answers_as_documented",
    ),
    (
        503,
        "only when the store fails (the /health 503: tests/aws_gateway.rs) or 8 import jobs wait",
    ),
    (
        501,
        "only on deployments without bulk jobs and subscribers (the Lambda http handler)",
    ),
];

fn fetch_document(server: &TestServer) -> Value {
    let r = request(&server.http_url, "GET", "/openapi.json", &[], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    doc
}

/// `openapi-spec-validator`'s verdict on `doc`: Ok, or its complaint.
fn spec_validator(doc: &Value) -> Result<(), String> {
    let python = common::tool_path("MCP_PROMPTS_PYTHON", ".tools/venv/bin/python");
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).expect("write the document");
    let out = Command::new(python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("run openapi_spec_validator");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(())
    } else {
        Err(text)
    }
}

#[test]
fn the_document_is_valid_openapi_3_1_by_the_standard_validator() {
    let server = TestServer::start();
    let doc = fetch_document(&server);
    spec_validator(&doc).expect("the served document is valid");
    // The validator can say no: a response without its required description.
    let mut broken = doc.clone();
    broken["paths"]["/prompts"]["get"]["responses"]["200"]
        .as_object_mut()
        .expect("a documented 200")
        .remove("description");
    let complaint = spec_validator(&broken).expect_err("a broken document is refused");
    assert!(complaint.contains("description"), "{complaint}");
}

#[test]
fn every_documented_operation_answers_as_documented() {
    let server = TestServer::start_with(None, ARGS);
    let mut c = Contract::new(fetch_document(&server), &server.http_url);
    health(&mut c);
    create_and_read(&mut c);
    list(&mut c);
    update(&mut c);
    render(&mut c);
    history_and_labels(&mut c);
    delete(&mut c);
    imports(&mut c);
    subscriptions(&mut c);
    every_status_is_seen(&c);
}

#[test]
fn no_path_takes_an_undocumented_method() {
    let server = TestServer::start();
    let c = Contract::new(fetch_document(&server), &server.http_url);
    let mut paths = BTreeSet::new();
    for (path, _, _) in c.operations() {
        paths.insert(path);
    }
    assert!(paths.len() >= 8, "{paths:?}");
    for path in paths {
        let concrete = path
            .replace("{id}", "greeting")
            .replace("{version}", "1")
            .replace("{label}", "prod");
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if c.doc["paths"][&path][method.to_ascii_lowercase()].is_object() {
                continue;
            }
            let r = request(&server.http_url, method, &concrete, &[JSON], Some("{}"));
            assert_eq!(
                r.status, 405,
                "{method} {path} is served but not documented: {r:?}"
            );
        }
    }
}

#[test]
fn the_docs_page_and_its_assets_come_from_the_binary() {
    let server = TestServer::start();
    let page = request(&server.http_url, "GET", "/docs/", &[], None);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("swagger-ui"), "{}", page.body);
    assert!(
        !page.body.contains("https://"),
        "the page loads nothing from outside"
    );
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
        "swagger-ui.css",
    ] {
        let r = request(
            &server.http_url,
            "GET",
            &format!("/docs/{asset}"),
            &[],
            None,
        );
        assert_eq!(r.status, 200, "{asset}: {r:?}");
        assert!(r.body.len() > 100, "{asset} is empty");
    }
    let init = request(
        &server.http_url,
        "GET",
        "/docs/swagger-initializer.js",
        &[],
        None,
    );
    assert!(init.body.contains("/openapi.json"), "{}", init.body);
}

#[test]
fn the_guard_answers_as_documented() {
    let data = tempfile::tempdir().expect("a temp dir");
    let reader = create_key(data.path(), "dash", "reader");
    let server = TestServer::start_with(Some(data.path()), &["--auth", "required"]);
    let bearer = format!("Bearer {reader}");
    let reader_headers = [JSON, ("Authorization", bearer.as_str())];
    let doc = request(
        &server.http_url,
        "GET",
        "/openapi.json",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(doc.status, 200, "{doc:?}");
    let mut c = Contract::new(doc.json(), &server.http_url);
    let body = json!({"name": "x", "content": "y", "version": 1}).to_string();
    let (mut refused, mut forbidden) = (0, 0);
    for (template, method, id) in c.operations() {
        let path = template
            .replace("{id}", "code-review")
            .replace("{version}", "1")
            .replace("{label}", "prod");
        let method = method.to_ascii_uppercase();
        let responses = &c.doc["paths"][&template][method.to_ascii_lowercase()]["responses"];
        let (says_401, says_403) = (responses["401"].is_object(), responses["403"].is_object());
        let with_body = matches!(method.as_str(), "POST" | "PUT").then_some(body.as_str());
        let anonymous = call(&method, &template, &path, &[JSON], with_body, Input::Bad);
        let r = c.send(anonymous);
        assert_eq!(
            r.status == 401,
            says_401,
            "{id} without a credential: {r:?}"
        );
        refused += usize::from(says_401);
        if says_403 {
            let r = c.send(call(
                &method,
                &template,
                &path,
                &reader_headers,
                with_body,
                Input::Bad,
            ));
            assert_eq!(r.status, 403, "{id} as a reader: {r:?}");
            forbidden += 1;
        }
    }
    assert_eq!(
        (refused, forbidden),
        (16, 7),
        "every REST operation is guarded; 7 write"
    );
}

/// A new API key of `role` in `data`: `keys create` prints it alone on its last line.
fn create_key(data: &std::path::Path, name: &str, role: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-prompts"))
        .args(["keys", "create", "--name", name, "--role", role, "--data"])
        .arg(data)
        .output()
        .expect("run keys create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.lines().last().expect("the key").to_string()
}

fn call<'a>(
    method: &'a str,
    template: &'a str,
    path: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: Option<&'a str>,
    input: Input,
) -> Call<'a> {
    Call {
        method,
        template,
        path,
        headers,
        body,
        input,
    }
}

fn status(c: &mut Contract, expected: u16, call: Call<'_>) -> Value {
    let what = format!("{} {}", call.method, call.path);
    let r = c.send(call);
    assert_eq!(r.status, expected, "{what}: {r:?}");
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

fn health(c: &mut Contract) {
    use Input::Valid;
    let h = status(c, 200, call("GET", "/health", "/health", &[], None, Valid));
    assert_eq!(h["backend"], "embedded");
    status(
        c,
        200,
        call("GET", "/health/live", "/health/live", &[], None, Valid),
    );
}

fn create_and_read(c: &mut Contract) {
    use Input::{Bad, Valid};
    let t = "/prompts";
    let draft = json!({"id": "greeting", "name": "Greeting", "content": "Hello {{name}}",
        "variables": ["name", {"name": "unused", "required": false}],
        "tags": ["demo"], "category": "general", "metadata": {"team": "x"}})
    .to_string();
    let p = status(c, 201, call("POST", t, t, &[JSON], Some(&draft), Valid));
    assert_eq!(p["version"], 1);
    status(c, 409, call("POST", t, t, &[JSON], Some(&draft), Valid));
    let wrong = json!({"name": "x", "content": "y", "tags": ["a", 5]}).to_string();
    let p = status(c, 400, call("POST", t, t, &[JSON], Some(&wrong), Bad));
    assert_eq!(p["field"], "tags[1]");
    status(
        c,
        400,
        call("POST", t, t, &[JSON], Some("{\"name\": "), Bad),
    );
    let text = [("Content-Type", "text/plain")];
    status(c, 415, call("POST", t, t, &text, Some("hi"), Bad));
    let huge = json!({"name": "big", "content": "x".repeat(100_000)}).to_string();
    status(c, 413, call("POST", t, t, &[JSON], Some(&huge), Bad));

    let t = "/prompts/{id}";
    let p = status(
        c,
        200,
        call("GET", t, "/prompts/greeting", &[], None, Valid),
    );
    assert_eq!(p["content"], "Hello {{name}}");
    let have = [("If-None-Match", "\"1\"")];
    status(
        c,
        304,
        call("GET", t, "/prompts/greeting", &have, None, Valid),
    );
    let p = status(
        c,
        400,
        call("GET", t, "/prompts/Not%20An%20Id", &[], None, Bad),
    );
    assert_eq!(p["field"], "id");
    status(c, 404, call("GET", t, "/prompts/nobody", &[], None, Valid));
}

fn list(c: &mut Contract) {
    use Input::{Bad, Valid};
    let t = "/prompts";
    let page = status(c, 200, call("GET", t, "/prompts?limit=2", &[], None, Valid));
    assert_eq!(page["prompts"].as_array().map(Vec::len), Some(2));
    let next = page["nextCursor"]
        .as_str()
        .expect("the seed has more")
        .to_string();
    let path = format!("/prompts?limit=2&cursor={next}");
    status(c, 200, call("GET", t, &path, &[], None, Valid));
    let path = "/prompts?category=general&tag=demo";
    let page = status(c, 200, call("GET", t, path, &[], None, Valid));
    assert_eq!(page["prompts"][0]["id"], "greeting");
    let found = status(c, 200, call("GET", t, "/prompts?q=hello", &[], None, Valid));
    assert!(found.get("nextCursor").is_none(), "{found}");
    for (path, field) in [
        ("/prompts?limit=0", "limit"),
        ("/prompts?limit=abc", "limit"),
        ("/prompts?cursor=forged", "cursor"),
        ("/prompts?q=hello&cursor=abc", "cursor"),
        ("/prompts?limit=1&limit=2", "query"),
    ] {
        let p = status(c, 400, call("GET", t, path, &[], None, Bad));
        assert_eq!(p["field"], field, "{path}");
    }
}

fn update(c: &mut Contract) {
    use Input::{Bad, Valid};
    let t = "/prompts/{id}";
    let path = "/prompts/greeting";
    let patch = json!({"description": "says hello"}).to_string();
    let v1 = [JSON, ("If-Match", "\"1\"")];
    let p = status(c, 200, call("PUT", t, path, &v1, Some(&patch), Valid));
    assert_eq!(p["version"], 2);
    let p = status(c, 412, call("PUT", t, path, &v1, Some(&patch), Valid));
    assert_eq!(p["currentVersion"], 2);
    let stale = json!({"name": "G", "expectedVersion": 1}).to_string();
    let p = status(c, 409, call("PUT", t, path, &[JSON], Some(&stale), Valid));
    assert_eq!(p["currentVersion"], 2);
    let both = json!({"expectedVersion": 2}).to_string();
    let p = status(c, 400, call("PUT", t, path, &v1, Some(&both), Bad));
    assert_eq!(p["field"], "expectedVersion");
    let bad = json!({"tags": "demo"}).to_string();
    let p = status(c, 400, call("PUT", t, path, &[JSON], Some(&bad), Bad));
    assert_eq!(p["field"], "tags");
    let garbage = [JSON, ("If-Match", "yesterday")];
    let p = status(c, 400, call("PUT", t, path, &garbage, Some(&patch), Bad));
    assert_eq!(p["field"], "If-Match");
    let nobody = "/prompts/nobody";
    status(c, 404, call("PUT", t, nobody, &[JSON], Some(&patch), Valid));
    let text = [("Content-Type", "text/plain")];
    status(c, 415, call("PUT", t, path, &text, Some("hi"), Bad));
    let huge = json!({"content": "x".repeat(100_000)}).to_string();
    status(c, 413, call("PUT", t, path, &[JSON], Some(&huge), Bad));
}

fn render(c: &mut Contract) {
    use Input::{Bad, Valid};
    let t = "/prompts/{id}/apply";
    let path = "/prompts/greeting/apply";
    let vars = json!({"variables": {"name": "Ada", "extra": 1}}).to_string();
    let r = status(c, 200, call("POST", t, path, &[JSON], Some(&vars), Valid));
    assert_eq!(r["content"], "Hello Ada");
    assert_eq!(r["unusedVariables"], json!(["unused"]));
    assert_eq!(r["unknownVariables"], json!(["extra"]));
    let v1 = json!({"variables": {"name": "Ada"}, "version": 1}).to_string();
    let r = status(c, 200, call("POST", t, path, &[JSON], Some(&v1), Valid));
    assert_eq!(r["version"], 1);
    let missing = json!({"variables": {}}).to_string();
    let p = status(
        c,
        400,
        call("POST", t, path, &[JSON], Some(&missing), Valid),
    );
    assert_eq!(p["field"], "variables.name");
    let unknown = json!({"variables": {}, "colour": 1}).to_string();
    status(c, 400, call("POST", t, path, &[JSON], Some(&unknown), Bad));
    let no_label = json!({"variables": {"name": "Ada"}, "label": "nope"}).to_string();
    status(
        c,
        404,
        call("POST", t, path, &[JSON], Some(&no_label), Valid),
    );
    let nobody = "/prompts/nobody/apply";
    status(c, 404, call("POST", t, nobody, &[JSON], Some(&vars), Valid));
    let text = [("Content-Type", "text/plain")];
    status(c, 415, call("POST", t, path, &text, Some("hi"), Bad));
    let huge = json!({"variables": {"name": "x".repeat(100_000)}}).to_string();
    status(c, 413, call("POST", t, path, &[JSON], Some(&huge), Bad));
    // Within the body limit, over the output budget (--max-output-bytes).
    let long = json!({"variables": {"name": "x".repeat(9_000)}}).to_string();
    let p = status(c, 422, call("POST", t, path, &[JSON], Some(&long), Valid));
    assert!(
        p["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("render-budget"),
        "{p}"
    );
}

fn history_and_labels(c: &mut Contract) {
    use Input::{Bad, Valid};
    let t = "/prompts/{id}/versions";
    let h = status(
        c,
        200,
        call("GET", t, "/prompts/greeting/versions", &[], None, Valid),
    );
    assert_eq!(h["versions"].as_array().map(Vec::len), Some(2));
    status(
        c,
        400,
        call("GET", t, "/prompts/Bad%20Id/versions", &[], None, Bad),
    );
    status(
        c,
        404,
        call("GET", t, "/prompts/nobody/versions", &[], None, Valid),
    );

    let t = "/prompts/{id}/versions/{version}";
    let p = status(
        c,
        200,
        call("GET", t, "/prompts/greeting/versions/1", &[], None, Valid),
    );
    assert_eq!(p["version"], 1);
    let p = status(
        c,
        400,
        call("GET", t, "/prompts/greeting/versions/0", &[], None, Bad),
    );
    assert_eq!(p["field"], "version");
    status(
        c,
        404,
        call("GET", t, "/prompts/greeting/versions/99", &[], None, Valid),
    );

    let t = "/prompts/{id}/labels/{label}";
    let path = "/prompts/greeting/labels/prod";
    let one = json!({"version": 1}).to_string();
    let m = status(c, 200, call("PUT", t, path, &[JSON], Some(&one), Valid));
    assert_eq!(m, json!({"id": "greeting", "label": "prod", "version": 1}));
    let numeric = "/prompts/greeting/labels/123";
    let p = status(c, 400, call("PUT", t, numeric, &[JSON], Some(&one), Bad));
    assert_eq!(p["field"], "label");
    let far = json!({"version": 99}).to_string();
    status(c, 404, call("PUT", t, path, &[JSON], Some(&far), Valid));
    let text = [("Content-Type", "text/plain")];
    status(c, 415, call("PUT", t, path, &text, Some("hi"), Bad));
    let huge = json!({"version": 1, "pad": "x".repeat(100_000)}).to_string();
    status(c, 413, call("PUT", t, path, &[JSON], Some(&huge), Bad));
    let labelled = json!({"variables": {"name": "Ada"}, "label": "prod"}).to_string();
    let apply = "/prompts/{id}/apply";
    let r = status(
        c,
        200,
        call(
            "POST",
            apply,
            "/prompts/greeting/apply",
            &[JSON],
            Some(&labelled),
            Valid,
        ),
    );
    assert_eq!(r["version"], 1);
}

fn delete(c: &mut Contract) {
    use Input::{Bad, Valid};
    let t = "/prompts/{id}";
    let path = "/prompts/greeting";
    let stale = [("If-Match", "\"1\"")];
    let p = status(c, 412, call("DELETE", t, path, &stale, None, Valid));
    assert_eq!(p["currentVersion"], 2);
    status(
        c,
        400,
        call("DELETE", t, "/prompts/Bad%20Id", &[], None, Bad),
    );
    let current = [("If-Match", "\"2\"")];
    status(c, 204, call("DELETE", t, path, &current, None, Valid));
    status(c, 404, call("DELETE", t, path, &[], None, Valid));
    status(c, 404, call("GET", t, path, &[], None, Valid));
}

fn imports(c: &mut Contract) {
    use Input::{Bad, Valid};
    let t = "/imports";
    let files = json!({"files": [{"path": "team/imported.md", "content": "---\nname: Imported\n---\nHi {{who}}\n"}],
        "dryRun": false})
    .to_string();
    let job = status(c, 202, call("POST", t, t, &[JSON], Some(&files), Valid));
    let id = job["jobId"].as_str().expect("a job id").to_string();
    let empty = json!({"files": []}).to_string();
    let p = status(c, 400, call("POST", t, t, &[JSON], Some(&empty), Bad));
    assert_eq!(p["field"], "files");
    let many: Vec<Value> = (0..20_001)
        .map(|i| json!({"path": format!("{i}.txt"), "content": ""}))
        .collect();
    let many = json!({ "files": many }).to_string();
    status(c, 413, call("POST", t, t, &[JSON], Some(&many), Bad));
    let text = [("Content-Type", "text/plain")];
    status(c, 415, call("POST", t, t, &text, Some("hi"), Bad));
    let list = status(c, 200, call("GET", t, t, &[], None, Valid));
    assert_eq!(list["jobs"][0]["jobId"], id.as_str());
    let t = "/imports/{id}";
    let path = format!("/imports/{id}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while status(c, 200, call("GET", t, &path, &[], None, Valid))["state"] != "done" {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    status(c, 404, call("GET", t, "/imports/nope", &[], None, Valid));
}

fn subscriptions(c: &mut Contract) {
    use Input::{Bad, Valid};
    let t = "/subscriptions";
    let register = |n: usize| {
        json!({"url": format!("http://127.0.0.1:9/hook/{n}"), "secret": "a-secret-of-16-bytes+",
            "category": "general"})
        .to_string()
    };
    let s = status(
        c,
        201,
        call("POST", t, t, &[JSON], Some(&register(0)), Valid),
    );
    let id = s["id"].as_str().expect("an id").to_string();
    let short = json!({"url": "http://127.0.0.1:9/", "secret": "short"}).to_string();
    let p = status(c, 400, call("POST", t, t, &[JSON], Some(&short), Bad));
    assert_eq!(p["field"], "secret");
    let huge = json!({"url": "http://127.0.0.1:9/", "secret": "x".repeat(100_000)}).to_string();
    status(c, 413, call("POST", t, t, &[JSON], Some(&huge), Bad));
    let text = [("Content-Type", "text/plain")];
    status(c, 415, call("POST", t, t, &text, Some("hi"), Bad));
    let list = status(c, 200, call("GET", t, t, &[], None, Valid));
    assert_eq!(list["subscriptions"][0]["id"], id.as_str());
    for n in 1..100 {
        status(
            c,
            201,
            call("POST", t, t, &[JSON], Some(&register(n)), Valid),
        );
    }
    status(
        c,
        409,
        call("POST", t, t, &[JSON], Some(&register(100)), Valid),
    );

    let t = "/subscriptions/{id}";
    let path = format!("/subscriptions/{id}");
    let one = status(c, 200, call("GET", t, &path, &[], None, Valid));
    assert_eq!(one["filter"]["category"], "general");
    status(
        c,
        404,
        call("GET", t, "/subscriptions/nope", &[], None, Valid),
    );
    status(c, 204, call("DELETE", t, &path, &[], None, Valid));
    status(c, 404, call("DELETE", t, &path, &[], None, Valid));
}

/// Every documented (operation, status) was answered, but those in
/// [`NOT_REACHED`]; and those are documented somewhere (no stale excuse).
fn every_status_is_seen(c: &Contract) {
    let mut missing = Vec::new();
    let mut excused = BTreeSet::new();
    for (path, method, id) in c.operations() {
        let responses = c.doc["paths"][&path][&method]["responses"]
            .as_object()
            .expect("responses");
        for code in responses.keys() {
            let code: u16 = code.parse().expect("a numeric status");
            if NOT_REACHED.iter().any(|(s, _)| *s == code) {
                excused.insert(code);
                continue;
            }
            if !c.seen.get(&id).is_some_and(|s| s.contains(&code)) {
                missing.push(format!("{id} {code}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documented but never answered: {missing:?}"
    );
    for (code, why) in NOT_REACHED {
        assert!(
            excused.contains(code),
            "{code} is excused ({why}) but documented nowhere"
        );
    }
}

//! Tool definitions: names compatible with the TypeScript mcp-prompts server, JSON
//! Schemas for input and output, and annotations so clients can auto-approve reads.

use serde_json::{Value, json};

fn variable_schema() -> Value {
    json!({
        "anyOf": [
            {"type": "string"},
            {"type": "object", "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "required": {"type": "boolean"},
                "choices": {"type": "array", "items": {"type": "string"}}
            }, "required": ["name"]}
        ]
    })
}

/// The editable fields of a prompt, shared by create and update.
fn prompt_fields() -> Value {
    json!({
        "name": {"type": "string", "description": "Human-readable name"},
        "description": {"type": "string"},
        "content": {"type": "string", "description": "The prompt text; a handlebars template when isTemplate"},
        "isTemplate": {"type": "boolean"},
        "variables": {"type": "array", "items": variable_schema(),
            "description": "Template variables: names, or {name, description, required, choices}"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "category": {"type": "string"},
        "metadata": {"type": "object"}
    })
}

pub fn prompt_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "content": {"type": "string"},
            "isTemplate": {"type": "boolean"},
            "variables": {"type": "array", "items": {"type": "object"}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "category": {"type": "string"},
            "createdAt": {"type": "string"},
            "updatedAt": {"type": "string"},
            "version": {"type": "integer"},
            "metadata": {"type": "object"}
        },
        "required": ["id", "name", "content", "version", "createdAt", "updatedAt"]
    })
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

fn tool(
    name: &str,
    title: &str,
    description: &str,
    input: Value,
    output: Value,
    annotations: Value,
) -> Value {
    json!({
        "name": name,
        "title": title,
        "description": description,
        "inputSchema": input,
        "outputSchema": output,
        "annotations": annotations,
    })
}

fn read_only() -> Value {
    json!({"readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false})
}

fn write(destructive: bool, idempotent: bool) -> Value {
    json!({"readOnlyHint": false, "destructiveHint": destructive, "idempotentHint": idempotent, "openWorldHint": false})
}

fn selector_fields() -> Value {
    json!({
        "version": {"type": "integer", "minimum": 1, "description": "A specific version"},
        "label": {"type": "string", "description": "A label such as production"}
    })
}

fn subscriber_schema() -> Value {
    let filter = json!({"type": "object", "properties": {"category": {"type": "string"}, "tag": {"type": "string"}}});
    object(
        json!({
            "id": {"type": "string"}, "url": {"type": "string"}, "filter": filter,
            "createdAt": {"type": "string"}, "startAfter": {"type": "integer"},
            "delivered": {"type": "integer"}, "failedAttempts": {"type": "integer"}, "lastError": {"type": "string"}
        }),
        &["id", "url", "filter", "createdAt"],
    )
}

fn job_schema() -> Value {
    let count = json!({"type": "integer", "minimum": 0});
    object(
        json!({
            "jobId": {"type": "string"},
            "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
            "dryRun": {"type": "boolean"},
            "submittedBy": {"type": "string"},
            "submittedAt": {"type": "string"},
            "finishedAt": {"type": "string"},
            "files": count, "total": count, "settled": count,
            "created": count, "updated": count, "unchanged": count,
            "failed": count, "skipped": count, "warnings": count,
            "failures": {"type": "array", "items": object(
                json!({"source": {"type": "string"}, "reason": {"type": "string"}}),
                &["source", "reason"],
            )},
            "error": {"type": "string"}
        }),
        &[
            "jobId",
            "state",
            "files",
            "total",
            "settled",
            "created",
            "updated",
            "unchanged",
            "failed",
        ],
    )
}

fn page_schema() -> Value {
    object(
        json!({
            "prompts": {"type": "array", "items": prompt_schema()},
            "nextCursor": {"type": "string"}
        }),
        &["prompts"],
    )
}

pub fn all() -> Vec<Value> {
    let id = json!({"id": {"type": "string", "description": "Prompt id"}});
    let expected = json!({"expectedVersion": {"type": "integer", "minimum": 1,
        "description": "Refuse the write unless this is the current version"}});
    vec![
        tool(
            "create_prompt",
            "Create prompt",
            "Create a prompt (version 1). The id is derived from the name when absent.",
            object(
                merge(
                    merge(prompt_fields(), json!({"id": {"type": "string"}})),
                    json!({}),
                ),
                &["name", "content"],
            ),
            prompt_schema(),
            write(false, false),
        ),
        tool(
            "get_prompt",
            "Get prompt",
            "Get a prompt: the latest version, a version, or a label.",
            object(merge(id.clone(), selector_fields()), &["id"]),
            prompt_schema(),
            read_only(),
        ),
        tool(
            "update_prompt",
            "Update prompt",
            "Write the next version of a prompt. Absent fields keep their value. Pass expectedVersion to refuse stale writes.",
            object(
                merge(merge(id.clone(), expected.clone()), prompt_fields()),
                &["id"],
            ),
            prompt_schema(),
            write(false, false),
        ),
        tool(
            "delete_prompt",
            "Delete prompt",
            "Delete a prompt; its history is kept.",
            object(merge(id.clone(), expected), &["id"]),
            object(
                json!({"id": {"type": "string"}, "deleted": {"type": "boolean"}, "version": {"type": "integer"}}),
                &["id", "deleted", "version"],
            ),
            write(true, false),
        ),
        tool(
            "list_prompts",
            "List prompts",
            "List prompts, optionally by category or tag, one page at a time.",
            object(
                json!({
                    "category": {"type": "string"}, "tag": {"type": "string"},
                    "cursor": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 500}
                }),
                &[],
            ),
            page_schema(),
            read_only(),
        ),
        tool(
            "search_prompts",
            "Search prompts",
            "Full-text search over name, description, content and tags, best match first.",
            object(
                json!({
                    "query": {"type": "string"}, "category": {"type": "string"}, "tag": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 200}
                }),
                &["query"],
            ),
            page_schema(),
            read_only(),
        ),
        tool(
            "prompt_history",
            "Prompt history",
            "Every version of a prompt, oldest first, and its labels.",
            object(id.clone(), &["id"]),
            object(
                json!({
                    "id": {"type": "string"},
                    "versions": {"type": "array", "items": prompt_schema()},
                    "labels": {"type": "object", "additionalProperties": {"type": "integer"}}
                }),
                &["id", "versions", "labels"],
            ),
            read_only(),
        ),
        tool(
            "apply_template",
            "Apply template",
            "Render a prompt's template with variables. Reports declared variables the template never uses.",
            object(
                merge(
                    merge(
                        json!({
                            "id": {"type": "string"},
                            "promptId": {"type": "string", "description": "Alias of id (mcp-prompts 3.x)"},
                            "variables": {"type": "object"}
                        }),
                        selector_fields(),
                    ),
                    json!({}),
                ),
                &[],
            ),
            object(
                json!({
                    "id": {"type": "string"}, "version": {"type": "integer"}, "content": {"type": "string"},
                    "unusedVariables": {"type": "array", "items": {"type": "string"}},
                    "unknownVariables": {"type": "array", "items": {"type": "string"}}
                }),
                &["id", "version", "content", "unusedVariables"],
            ),
            read_only(),
        ),
        tool(
            "set_label",
            "Set label",
            "Point a label (production, staging, ...) at a version; moving it is recorded.",
            object(
                merge(
                    id,
                    json!({"label": {"type": "string"}, "version": {"type": "integer", "minimum": 1}}),
                ),
                &["id", "label", "version"],
            ),
            object(
                json!({"id": {"type": "string"}, "label": {"type": "string"}, "version": {"type": "integer"}}),
                &["id", "label", "version"],
            ),
            write(false, true),
        ),
        tool(
            "import_catalog",
            "Import a catalog",
            "Queue a bulk import of catalog files (JSON, YAML, Markdown with front matter, text; the category from the folder when a file does not say). Unchanged prompts get no new version. With a progressToken (or wait: true) the call answers when the job is done, reporting progress; otherwise at once with the job id for import_status.",
            object(
                json!({
                    "files": {"type": "array", "minItems": 1, "items": object(
                        json!({
                            "path": {"type": "string", "description": "Catalog-relative path, e.g. coding/review.md: its extension picks the format, its folder the category"},
                            "content": {"type": "string"}
                        }),
                        &["path", "content"],
                    )},
                    "dryRun": {"type": "boolean", "description": "Report what would change; write nothing"},
                    "wait": {"type": "boolean", "description": "Answer when the job is done (default: when a progressToken is given)"}
                }),
                &["files"],
            ),
            job_schema(),
            write(false, true),
        ),
        tool(
            "import_status",
            "Import job status",
            "The status of a bulk import job: state, counts (created, updated, unchanged, failed) and the first failures.",
            object(json!({"jobId": {"type": "string"}}), &["jobId"]),
            job_schema(),
            read_only(),
        ),
        tool(
            "subscribe_webhook",
            "Subscribe a webhook",
            "Register a URL to receive every committed change (optionally of one category or tag) as a signed POST: the catalog event JSON, X-Mcp-Prompts-Signature = sha256=HMAC-SHA256(secret, body), X-Mcp-Prompts-Delivery stable across retries; at least once, in order, retried with backoff.",
            object(
                json!({
                    "url": {"type": "string", "description": "http(s) URL of the receiver"},
                    "secret": {"type": "string", "minLength": 16, "description": "Signs every delivery; not shown again"},
                    "category": {"type": "string"},
                    "tag": {"type": "string"}
                }),
                &["url", "secret"],
            ),
            subscriber_schema(),
            write(false, false),
        ),
        tool(
            "list_webhooks",
            "List webhooks",
            "Every webhook subscriber and how its deliveries stand (last position delivered, failed attempts, last error). For the reader role each URL's query string, fragment and user@ are shown as redacted.",
            object(json!({}), &[]),
            object(
                json!({"subscriptions": {"type": "array", "items": subscriber_schema()}}),
                &["subscriptions"],
            ),
            read_only(),
        ),
        tool(
            "unsubscribe_webhook",
            "Unsubscribe a webhook",
            "Remove a webhook subscriber: its deliveries stop.",
            object(json!({"id": {"type": "string"}}), &["id"]),
            object(
                json!({"id": {"type": "string"}, "removed": {"type": "boolean"}}),
                &["id", "removed"],
            ),
            write(true, true),
        ),
    ]
}

//! One handler per tool: decode arguments, call the catalog, shape the output.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::ToolResult;
use crate::catalog::{CatalogError, Selector};
use crate::cursor;
use crate::dispatch::Ctx;
use crate::domain::{ChangeEvent, Label, PromptDraft, PromptId, PromptPatch};
use crate::methods::logging;
use crate::ports::{ListQuery, SearchQuery};
use crate::session::LogLevel;

pub(super) fn args<T: DeserializeOwned>(tool: &str, value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("invalid arguments for {tool}: {e}"))
}

fn prompt_id(raw: &str) -> Result<PromptId, String> {
    PromptId::parse(raw).map_err(|e| e.to_string())
}

fn failed(e: CatalogError) -> String {
    e.to_string()
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn selector(version: Option<u64>, label: Option<String>) -> Result<Selector, String> {
    match (version, label) {
        (Some(_), Some(_)) => Err("pass either version or label, not both".into()),
        (Some(0), None) => Err("versions start at 1".into()),
        (Some(v), None) => Ok(Selector::Version(v)),
        (None, Some(l)) => Ok(Selector::Label(
            Label::parse(&l).map_err(|e| e.to_string())?,
        )),
        (None, None) => Ok(Selector::Latest),
    }
}

fn announce(ctx: &mut Ctx<'_>, event: &ChangeEvent) {
    logging::log(
        ctx,
        LogLevel::Info,
        "catalog",
        json!({
            "message": format!("{} prompt '{}' (version {})", event.kind.as_str(), event.id, event.version),
            "id": event.id, "version": event.version, "kind": event.kind, "position": event.position,
        }),
    );
}

pub async fn create(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let draft: PromptDraft = args("create_prompt", value)?;
    let actor = ctx.session.id.clone();
    let (prompt, event) = ctx
        .engine
        .catalog
        .create(draft, &actor)
        .await
        .map_err(failed)?;
    announce(ctx, &event);
    Ok(to_value(&prompt))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetArgs {
    id: String,
    version: Option<u64>,
    label: Option<String>,
}

pub async fn get(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: GetArgs = args("get_prompt", value)?;
    let id = prompt_id(&a.id)?;
    let prompt = ctx
        .engine
        .catalog
        .get_at(&id, &selector(a.version, a.label)?)
        .await
        .map_err(failed)?;
    Ok(to_value(&*prompt))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateArgs {
    id: String,
    expected_version: Option<u64>,
    #[serde(flatten)]
    patch: PromptPatch,
}

pub async fn update(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: UpdateArgs = args("update_prompt", value)?;
    let id = prompt_id(&a.id)?;
    let actor = ctx.session.id.clone();
    let (prompt, event) = ctx
        .engine
        .catalog
        .update(&id, a.patch, a.expected_version, &actor)
        .await
        .map_err(failed)?;
    announce(ctx, &event);
    Ok(to_value(&prompt))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteArgs {
    id: String,
    expected_version: Option<u64>,
}

pub async fn delete(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: DeleteArgs = args("delete_prompt", value)?;
    let id = prompt_id(&a.id)?;
    let actor = ctx.session.id.clone();
    let event = ctx
        .engine
        .catalog
        .delete(&id, a.expected_version, &actor)
        .await
        .map_err(failed)?;
    announce(ctx, &event);
    Ok(json!({"id": id, "deleted": true, "version": event.version}))
}

#[derive(Deserialize)]
struct ListArgs {
    category: Option<String>,
    tag: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

pub async fn list(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: ListArgs = args("list_prompts", value)?;
    let after = match a.cursor.as_deref() {
        Some(c) => Some(cursor::decode(c).ok_or_else(|| format!("invalid cursor: '{c}'"))?),
        None => None,
    };
    let query = ListQuery {
        category: a.category,
        tag: a.tag,
        id_prefix: None,
        after,
        limit: a.limit.unwrap_or(ctx.engine.config.page_size),
    };
    let (prompts, next) = ctx.engine.catalog.list(query).await.map_err(failed)?;
    let mut out = json!({"prompts": prompts});
    if let Some(next) = next {
        out["nextCursor"] = Value::String(cursor::encode(&next));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct SearchArgs {
    query: String,
    category: Option<String>,
    tag: Option<String>,
    limit: Option<usize>,
}

pub async fn search(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: SearchArgs = args("search_prompts", value)?;
    let query = SearchQuery {
        text: a.query,
        category: a.category,
        tag: a.tag,
        limit: a.limit.unwrap_or(20),
    };
    let prompts = ctx.engine.catalog.search(query).await.map_err(failed)?;
    Ok(json!({"prompts": prompts}))
}

#[derive(Deserialize)]
struct HistoryArgs {
    id: String,
}

pub async fn history(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: HistoryArgs = args("prompt_history", value)?;
    let id = prompt_id(&a.id)?;
    let (versions, labels) = ctx.engine.catalog.history(&id).await.map_err(failed)?;
    Ok(json!({"id": id, "versions": versions, "labels": labels}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApplyArgs {
    id: Option<String>,
    prompt_id: Option<String>,
    #[serde(default)]
    variables: Map<String, Value>,
    version: Option<u64>,
    label: Option<String>,
}

pub async fn apply(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: ApplyArgs = args("apply_template", value)?;
    let raw =
        a.id.or(a.prompt_id)
            .ok_or("apply_template needs 'id' (or 'promptId')")?;
    let id = prompt_id(&raw)?;
    let started = std::time::Instant::now();
    let rendered = ctx
        .engine
        .catalog
        .render(&id, &selector(a.version, a.label)?, &a.variables)
        .await
        .map_err(failed)?;
    ctx.engine.metrics.rendered(started);
    Ok(json!({
        "id": id,
        "version": rendered.prompt.version,
        "content": rendered.text,
        "unusedVariables": rendered.unused_variables,
        "unknownVariables": rendered.unknown_arguments,
    }))
}

#[derive(Deserialize)]
struct LabelArgs {
    id: String,
    label: String,
    version: u64,
}

pub async fn set_label(ctx: &mut Ctx<'_>, value: Value) -> ToolResult {
    let a: LabelArgs = args("set_label", value)?;
    let id = prompt_id(&a.id)?;
    let label = Label::parse(&a.label).map_err(|e| e.to_string())?;
    let actor = ctx.session.id.clone();
    let event = ctx
        .engine
        .catalog
        .set_label(&id, &label, a.version, &actor)
        .await
        .map_err(failed)?;
    announce(ctx, &event);
    Ok(json!({"id": id, "label": label.as_str(), "version": a.version}))
}

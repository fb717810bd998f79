#![cfg(feature = "aws")]
//! The outbox, session and connection stores and bootstrap against a local moto
//! server, in-process: a change whose SendMessage failed is still published
//! (outbox + sweeper) and fanned out; sessions and connections expire on read and
//! are found by topic; bootstrap is idempotent.

mod aws_support;

use mcp_prompts::adapters::aws::sdk::aws_sdk_sqs;
use std::sync::Arc;
use std::time::Duration;

use aws_support::Moto;
use mcp_prompts::adapters::aws::outbox::pending_count;
use mcp_prompts::adapters::aws::{
    AwsClients, AwsSettings, DynamoConnectionStore, DynamoPromptStore, DynamoSessionStore,
    bootstrap,
};
use mcp_prompts::adapters::memory::{MemorySessionStore, RecordingPusher};
use mcp_prompts::domain::{PromptDraft, PromptId};
use mcp_prompts::edges::aws_gateway::sqs::sqs_event;
use mcp_prompts::edges::lambda::{LambdaApp, LambdaLimits, fanout};
use mcp_prompts::engine::session::Interest;
use mcp_prompts::engine::{Catalog, Engine, EngineConfig};
use mcp_prompts::ports::{
    ConnectionRecord, ConnectionStore, SessionRecord, SessionStore, SystemClock, Topic,
};

async fn setup(moto: &Moto) -> (Arc<AwsClients>, AwsSettings) {
    let clients = moto.clients().await;
    let settings = moto.settings();
    bootstrap::run(&clients, &settings)
        .await
        .expect("bootstrap");
    (clients, settings)
}

fn store(clients: &Arc<AwsClients>, settings: &AwsSettings) -> Arc<DynamoPromptStore> {
    Arc::new(DynamoPromptStore::new(
        clients.clone(),
        settings,
        Arc::new(SystemClock),
    ))
}

fn draft(v: serde_json::Value) -> PromptDraft {
    serde_json::from_value(v).unwrap()
}

fn id(s: &str) -> PromptId {
    PromptId::parse(s).unwrap()
}

#[tokio::test]
async fn a_change_whose_send_failed_is_published_by_the_sweeper_and_fanned_out() {
    let moto = Moto::start();
    let (clients, settings) = setup(&moto).await;
    // The writer's queue URL points at a queue that does not exist: SendMessage fails.
    let broken = AwsSettings {
        queue_url: Some(format!("{}/123456789012/no-such-queue", moto.url)),
        ..settings.clone()
    };
    let writer = Catalog::new(store(&clients, &broken), Arc::new(SystemClock));
    let (_, change) = writer
        .create(
            draft(serde_json::json!({"name": "Survivor", "content": "still here"})),
            "t",
        )
        .await
        .expect("the write commits although the queue is unreachable");
    assert_eq!(
        pending_count(&clients, &settings.prompts_table)
            .await
            .unwrap(),
        1
    );

    // The sweeper (with the right queue) republishes once the grace period passed.
    let healthy = store(
        &clients,
        &AwsSettings {
            outbox_grace: Duration::ZERO,
            ..settings.clone()
        },
    );
    assert_eq!(healthy.outbox.sweep().await.unwrap(), 1);
    assert_eq!(
        pending_count(&clients, &settings.prompts_table)
            .await
            .unwrap(),
        0
    );

    // The fan-out consumer turns the queued message into the notification.
    let url = healthy.outbox.queue_url().await.unwrap();
    let received = clients
        .sqs()
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let event = sqs_event(received.messages(), &url);
    assert_eq!(event.records.len(), 1);
    let connections = Arc::new(DynamoConnectionStore::new(
        clients.clone(),
        settings.connections_table.clone(),
    ));
    let now = mcp_prompts::adapters::aws::unix_now();
    connections
        .put(&ConnectionRecord {
            connection_id: "c1".into(),
            session_id: "s1".into(),
            connected_at: now,
            expires_at: now + 60,
        })
        .await
        .unwrap();
    let interest = Interest {
        initialized: true,
        list_changed: true,
        ..Default::default()
    };
    connections
        .set_interest("c1", &interest, now + 60)
        .await
        .unwrap();
    let pusher = Arc::new(RecordingPusher::default());
    let engine = Arc::new(Engine::new(Arc::new(writer), EngineConfig::default()));
    let app = LambdaApp::new(
        engine,
        Arc::new(MemorySessionStore::default()),
        connections,
        pusher.clone(),
        LambdaLimits::default(),
    );
    let response = fanout::handle(&app, event).await;
    assert!(response.batch_item_failures.is_empty());
    let frames = pusher.frames("c1");
    assert!(
        frames[0].contains("notifications/prompts/list_changed")
            && frames[0].contains(&format!("\"position\":{}", change.position)),
        "{frames:?}"
    );
}

#[tokio::test]
async fn sessions_and_connections_expire_on_read_and_are_found_by_topic() {
    let moto = Moto::start();
    let (clients, settings) = setup(&moto).await;
    let sessions = DynamoSessionStore::new(clients.clone(), settings.sessions_table.clone());
    let mut session = mcp_prompts::engine::Session::new("sess-1");
    session.subscriptions.insert(id("code-review"));
    let record = SessionRecord {
        session,
        connection_id: Some("c1".into()),
        last_position: 7,
        expires_at: 1_000,
    };
    sessions.save(&record).await.unwrap();
    let back = sessions
        .load("sess-1", 999)
        .await
        .unwrap()
        .expect("not yet expired");
    assert_eq!(back.last_position, 7);
    assert!(back.session.subscriptions.contains(&id("code-review")));
    assert!(
        sessions.load("sess-1", 1_000).await.unwrap().is_none(),
        "expired reads as absent"
    );
    sessions.delete("sess-1").await.unwrap();
    assert!(sessions.load("sess-1", 0).await.unwrap().is_none());

    let connections =
        DynamoConnectionStore::new(clients.clone(), settings.connections_table.clone());
    for (cid, expires) in [("fresh", 2_000), ("stale", 500)] {
        connections
            .put(&ConnectionRecord {
                connection_id: cid.into(),
                session_id: "s".into(),
                connected_at: 1,
                expires_at: expires,
            })
            .await
            .unwrap();
        let interest = Interest {
            initialized: true,
            subscriptions: [id("code-review")].into(),
            ..Default::default()
        };
        connections
            .set_interest(cid, &interest, expires)
            .await
            .unwrap();
    }
    let topic = [Topic::Prompt(id("code-review"))];
    let found = connections.listeners(&topic, 1_000).await.unwrap();
    assert_eq!(
        found.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["fresh"]
    );
    assert!(connections.get("stale", 1_000).await.unwrap().is_none());
    assert!(
        connections
            .listeners(&[Topic::ListChanged], 1_000)
            .await
            .unwrap()
            .is_empty()
    );
    // Narrowing the interest removes the old topic items; delete removes the rest.
    connections
        .set_interest(
            "fresh",
            &Interest {
                initialized: true,
                list_changed: true,
                ..Default::default()
            },
            2_000,
        )
        .await
        .unwrap();
    assert!(
        connections
            .listeners(&topic, 1_000)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        connections
            .listeners(&[Topic::ListChanged], 1_000)
            .await
            .unwrap()
            .len(),
        1
    );
    connections.delete("fresh").await.unwrap();
    assert!(connections.get("fresh", 0).await.unwrap().is_none());
    assert!(
        connections
            .listeners(&[Topic::ListChanged], 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn bootstrap_is_idempotent() {
    let moto = Moto::start();
    let (clients, settings) = setup(&moto).await;
    let again = bootstrap::run(&clients, &settings).await.unwrap();
    assert!(again.created.is_empty(), "{again:?}");
    let ttl = clients
        .dynamodb()
        .describe_time_to_live()
        .table_name(&settings.connections_table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("ttl")
    );
    let attrs = clients
        .sqs()
        .get_queue_attributes()
        .queue_url(&again.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let redrive =
        attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy].clone();
    assert!(redrive.contains("\"maxReceiveCount\""), "{redrive}");
    assert!(redrive.contains('3'), "{redrive}");
}

//! The key store on SQLite: keys by the hash of their secret, revocable.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::store::{EmbeddedStore, sql_error};
use mcp_prompts_engine::domain::{Principal, Role};
use mcp_prompts_engine::ports::{KeyInfo, KeyStore, StoreResult};

fn role_of(text: String) -> rusqlite::Result<Role> {
    Role::parse(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[async_trait]
impl KeyStore for EmbeddedStore {
    async fn add(&self, id: &str, name: &str, role: Role, hash: &str) -> StoreResult<()> {
        let (id, name, hash) = (id.to_string(), name.to_string(), hash.to_string());
        self.write(move |tx, clock| {
            tx.execute(
                "INSERT INTO api_keys (id, name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, name, role.as_str(), hash, clock.now_rfc3339()],
            )
            .map_err(sql_error)?;
            Ok(())
        })
        .await
    }

    async fn find(&self, hash: &str) -> StoreResult<Option<Principal>> {
        let hash = hash.to_string();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT name, role FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([hash], |r| {
                Ok(Principal {
                    name: r.get(0)?,
                    role: role_of(r.get(1)?)?,
                })
            })
            .optional()
        })
        .await
    }

    async fn list(&self) -> StoreResult<Vec<KeyInfo>> {
        self.read(|c| {
            let mut s = c.prepare(
                "SELECT id, name, role, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
            )?;
            let rows = s.query_map([], |r| {
                Ok(KeyInfo {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    role: role_of(r.get(2)?)?,
                    created_at: r.get(3)?,
                    revoked_at: r.get(4)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn revoke(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.write(move |tx, clock| {
            let n = tx
                .execute(
                    "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, clock.now_rfc3339()],
                )
                .map_err(sql_error)?;
            Ok(n == 1)
        })
        .await
    }
}

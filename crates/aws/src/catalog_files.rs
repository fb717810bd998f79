//! Catalog files in S3 (`s3://bucket/prefix`): the same layout as a catalog
//! folder (`<category>/<id>.<ext>` below the prefix), listed, read and written
//! for `mcp-prompts import|export s3://…`. Bounded: at most [`MAX_OBJECTS`]
//! objects of at most [`MAX_OBJECT_BYTES`] each, [`IN_FLIGHT`] requests at once.

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use futures_util::stream::{self, StreamExt};

use super::config::AwsClients;
use super::error_chain;

/// Objects one catalog may hold.
pub const MAX_OBJECTS: usize = 100_000;
/// A catalog file larger than this is reported, not read (templates are far smaller).
pub const MAX_OBJECT_BYTES: i64 = 4 * 1024 * 1024;
/// S3 requests in flight at once.
const IN_FLIGHT: usize = 16;

/// `s3://bucket/prefix`, the prefix without leading or trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(Self {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The object key of the catalog-relative path `rel`.
    pub fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// The catalog-relative path of an object key (`None`: not below the prefix).
    pub fn relative<'a>(&self, key: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            return Some(key);
        }
        key.strip_prefix(&self.prefix)?.strip_prefix('/')
    }
}

/// One file of a catalog read from S3: its catalog-relative path and bytes,
/// or why it could not be read.
pub type Fetched = (String, Result<Vec<u8>, String>);

/// An object below the location, as listed.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The catalog-relative path (the key without the prefix).
    pub rel: String,
    pub key: String,
    pub size: i64,
    /// S3's entity tag: changes whenever the object's content does.
    pub etag: String,
}

pub struct CatalogFiles {
    clients: Arc<AwsClients>,
}

impl CatalogFiles {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        Self { clients }
    }

    /// Every file below the location (folder markers aside), in key order.
    pub async fn read_all(&self, at: &S3Location) -> Result<Vec<Fetched>, String> {
        let listed = self.list(at).await?;
        Ok(self.fetch(at, listed).await)
    }

    /// Reads the listed objects, in path order.
    pub async fn fetch(&self, at: &S3Location, listed: Vec<Listed>) -> Vec<Fetched> {
        let mut files: Vec<Fetched> = stream::iter(listed)
            .map(|l| async move {
                if l.size > MAX_OBJECT_BYTES {
                    let why = format!("{} bytes; at most {MAX_OBJECT_BYTES}", l.size);
                    return (l.rel, Err(why));
                }
                let got = self.get(&at.bucket, &l.key).await;
                (l.rel, got)
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files
    }

    /// The objects below the location (folder markers aside), in key order.
    pub async fn list(&self, at: &S3Location) -> Result<Vec<Listed>, String> {
        let mut out = Vec::new();
        let mut pages = self
            .clients
            .s3()
            .list_objects_v2()
            .bucket(&at.bucket)
            .set_prefix((!at.prefix.is_empty()).then(|| format!("{}/", at.prefix)))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| format!("S3 ListObjectsV2 s3://{}: {}", at.bucket, error_chain(&e)))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let Some(rel) = at
                    .relative(key)
                    .filter(|r| !r.is_empty() && !r.ends_with('/'))
                else {
                    continue;
                };
                if out.len() == MAX_OBJECTS {
                    return Err(format!(
                        "more than {MAX_OBJECTS} objects below s3://{}/{}",
                        at.bucket, at.prefix
                    ));
                }
                out.push(Listed {
                    rel: rel.to_string(),
                    key: key.to_string(),
                    size: object.size().unwrap_or(0),
                    etag: object.e_tag().unwrap_or_default().to_string(),
                });
            }
        }
        Ok(out)
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
        let out = self
            .clients
            .s3()
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| format!("S3 GetObject: {}", error_chain(&e)))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| format!("S3 GetObject body: {e}"))?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// Writes one file of an exported catalog.
    pub async fn put(
        &self,
        at: &S3Location,
        rel: &str,
        text: String,
        content_type: &str,
    ) -> Result<(), String> {
        self.clients
            .s3()
            .put_object()
            .bucket(&at.bucket)
            .key(at.key(rel))
            .content_type(content_type)
            .body(ByteStream::from(text.into_bytes()))
            .send()
            .await
            .map_err(|e| format!("S3 PutObject {}: {}", at.key(rel), error_chain(&e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::S3Location;

    #[test]
    fn locations_parse_and_map_paths_both_ways() {
        let at = S3Location::parse("s3://cat/prompts/v1/").unwrap();
        assert_eq!(
            (at.bucket.as_str(), at.prefix.as_str()),
            ("cat", "prompts/v1")
        );
        assert_eq!(at.key("dev/a.json"), "prompts/v1/dev/a.json");
        assert_eq!(at.relative("prompts/v1/dev/a.json"), Some("dev/a.json"));
        assert_eq!(
            at.relative("prompts/v10/a.json"),
            None,
            "a sibling prefix is not inside"
        );
        let root = S3Location::parse("s3://cat").unwrap();
        assert_eq!(root.key("a.json"), "a.json");
        assert_eq!(S3Location::parse("s3:///x"), None);
        assert_eq!(S3Location::parse("/tmp/x"), None);
    }
}

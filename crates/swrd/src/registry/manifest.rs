//! From a manifest body to the tag fields SWR shows ([`ImageData`]).
//!
//! | media type | `tag_type` | `schema` | `image_id` | `size` |
//! |---|---|---|---|---|
//! | Docker image manifest v2, OCI image manifest | 0 | 2 | hex of `config.digest` | config + layers |
//! | Docker manifest list, OCI image index | 1 | 2 | empty | the manifest's own length |
//! | Docker schema 1 (signed or not) | 0 | 1 | `id` of `history[0].v1Compatibility` | the manifest's own length |
//!
//! Image manifests and indexes are read as `oci-spec` types (a Docker v2
//! manifest or list has the same shape as its OCI counterpart); schema 1,
//! which OCI never defined, through the two fields swrd needs. `size` is what
//! a pull downloads (config and layers, as SWR shows an image's size) where
//! the manifest says it; a list or a schema-1 manifest carries no image
//! sizes, so its own length stands in. Without a usable `Content-Type` (or
//! with `application/json`) the body decides: a `manifests` array is a list,
//! `schemaVersion: 1` schema 1, anything else an image manifest.

use oci_spec::image::{ImageIndex, ImageManifest};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::store::ImageData;

/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema 1, unsigned.
pub const DOCKER_MANIFEST_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1, signed.
pub const DOCKER_MANIFEST_V1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// `Accept` for manifest requests: every type above, lists first so a
/// registry never converts a list to one platform's manifest.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.v1+prettyjws, \
     application/vnd.docker.distribution.manifest.v1+json";

/// Whether an event's `target.mediaType` names a manifest (a blob push has
/// `application/octet-stream` or a layer type).
pub fn is_manifest_media_type(media_type: &str) -> bool {
    matches!(
        essence(media_type),
        DOCKER_MANIFEST_V2
            | DOCKER_MANIFEST_LIST
            | DOCKER_MANIFEST_V1
            | DOCKER_MANIFEST_V1_SIGNED
            | OCI_MANIFEST
            | OCI_INDEX
    )
}

/// A media type without parameters, trimmed.
fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or("").trim()
}

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not UTF-8 JSON.
    #[error("the manifest is not a JSON document: {0}")]
    NotJson(String),
    /// JSON, but not a manifest of the kind it says it is.
    #[error("the manifest is not a valid {kind}: {reason}")]
    Invalid {
        /// What it was read as.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// The body does not hash to the digest it was fetched by (or that the
    /// registry's `Docker-Content-Digest` named).
    #[error("the manifest body hashes to {actual}, not {expected}")]
    DigestMismatch {
        /// Requested digest.
        expected: String,
        /// Digest of the body.
        actual: String,
    },
}

/// `sha256:` + hex SHA-256 of `body`.
pub fn sha256_digest(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

/// What decides the kind when the media type does not.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde::de::IgnoredAny>,
}

/// The part of a schema-1 manifest swrd reads.
#[derive(Deserialize)]
struct Schema1 {
    #[serde(default)]
    history: Vec<Schema1History>,
}

#[derive(Deserialize)]
struct Schema1History {
    #[serde(rename = "v1Compatibility")]
    v1_compatibility: String,
}

#[derive(Deserialize)]
struct V1Compatibility {
    #[serde(default)]
    id: String,
}

/// Reads a manifest fetched by `digest` (or by tag, with the registry's
/// `Docker-Content-Digest` as `digest`). `content_type` is the response's.
/// A `sha256:` digest is checked against the body, except for schema 1,
/// whose digest covers the payload without its signatures.
pub fn image_data(
    content_type: Option<&str>,
    body: &[u8],
    digest: &str,
) -> Result<ImageData, ManifestError> {
    let text = std::str::from_utf8(body).map_err(|e| ManifestError::NotJson(e.to_string()))?;
    let probe: Probe =
        serde_json::from_str(text).map_err(|e| ManifestError::NotJson(e.to_string()))?;
    let declared = content_type
        .map(essence)
        .filter(|t| !t.is_empty() && *t != "application/json")
        .or(probe.media_type.as_deref());
    let kind = match declared {
        Some(DOCKER_MANIFEST_LIST | OCI_INDEX) => Kind::List,
        Some(DOCKER_MANIFEST_V1 | DOCKER_MANIFEST_V1_SIGNED) => Kind::Schema1,
        Some(DOCKER_MANIFEST_V2 | OCI_MANIFEST) => Kind::Image,
        _ if probe.schema_version == Some(1) => Kind::Schema1,
        _ if probe.manifests.is_some() => Kind::List,
        _ => Kind::Image,
    };
    if kind != Kind::Schema1 && digest.starts_with("sha256:") {
        let actual = sha256_digest(body);
        if actual != digest {
            return Err(ManifestError::DigestMismatch {
                expected: digest.to_owned(),
                actual,
            });
        }
    }
    let invalid = |kind: &'static str| {
        move |e: serde_json::Error| ManifestError::Invalid {
            kind,
            reason: e.to_string(),
        }
    };
    let own_size = i64::try_from(body.len()).unwrap_or(i64::MAX);
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let (schema, tag_type, image_id, size) = match kind {
        Kind::Image => {
            let m: ImageManifest = serde_json::from_str(text).map_err(invalid("image manifest"))?;
            let layers = m
                .layers()
                .iter()
                .fold(0i64, |sum, l| sum.saturating_add(as_i64(l.size())));
            let size = as_i64(m.config().size()).saturating_add(layers);
            (2, 0, m.config().digest().digest().to_owned(), size)
        }
        Kind::List => {
            let _: ImageIndex = serde_json::from_str(text).map_err(invalid("manifest list"))?;
            (2, 1, String::new(), own_size)
        }
        Kind::Schema1 => {
            let m: Schema1 = serde_json::from_str(text).map_err(invalid("schema 1 manifest"))?;
            let image_id = m
                .history
                .first()
                .and_then(|h| serde_json::from_str::<V1Compatibility>(&h.v1_compatibility).ok())
                .map(|c| c.id)
                .unwrap_or_default();
            (1, 0, image_id, own_size)
        }
    };
    Ok(ImageData {
        digest: digest.to_owned(),
        image_id,
        manifest: text.to_owned(),
        schema,
        size,
        tag_type,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Image,
    List,
    Schema1,
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "sha256:c5b1d63604f273462ef36fadac3182d43ae6a6138731cf594b314835cf1c034f";

    fn layer(n: char, size: u64) -> String {
        format!(
            r#"{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{size},"digest":"sha256:{}"}}"#,
            n.to_string().repeat(64)
        )
    }

    #[test]
    fn image_manifest() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_V2}","config":{{"mediaType":"x","size":78,"digest":"{CONFIG}"}},"layers":[{},{}]}}"#,
            layer('a', 10),
            layer('b', 5)
        );
        let d = sha256_digest(body.as_bytes());
        assert_eq!(d.len(), 71);
        let i = image_data(Some(DOCKER_MANIFEST_V2), body.as_bytes(), &d).unwrap();
        assert_eq!((i.schema, i.tag_type, i.size), (2, 0, 93));
        assert_eq!(i.image_id, &CONFIG[7..]);
        // Media type from the body when the header says only JSON.
        let i = image_data(Some("application/json"), body.as_bytes(), &d).unwrap();
        assert_eq!(i.tag_type, 0);
        assert!(matches!(
            image_data(None, body.as_bytes(), CONFIG),
            Err(ManifestError::DigestMismatch { .. })
        ));
        // A manifest without its config is not one.
        let bad = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","layers":[]}}"#);
        let d = sha256_digest(bad.as_bytes());
        assert!(matches!(
            image_data(None, bad.as_bytes(), &d),
            Err(ManifestError::Invalid { .. })
        ));
        assert!(matches!(
            image_data(None, b"not json", "x"),
            Err(ManifestError::NotJson(_))
        ));
    }

    #[test]
    fn index_and_schema1() {
        let body = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#);
        let d = sha256_digest(body.as_bytes());
        let i = image_data(None, body.as_bytes(), &d).unwrap();
        assert_eq!((i.schema, i.tag_type, i.image_id.as_str()), (2, 1, ""));
        assert_eq!(i.size, body.len() as i64);
        let v1 = r#"{"schemaVersion":1,"history":[{"v1Compatibility":"{\"id\":\"abc\"}"}]}"#;
        let i = image_data(Some(DOCKER_MANIFEST_V1_SIGNED), v1.as_bytes(), "sha256:x").unwrap();
        assert_eq!((i.schema, i.tag_type, i.image_id.as_str()), (1, 0, "abc"));
        assert!(is_manifest_media_type(&format!(
            "{OCI_MANIFEST}; charset=utf-8"
        )));
        assert!(!is_manifest_media_type("application/octet-stream"));
    }
}

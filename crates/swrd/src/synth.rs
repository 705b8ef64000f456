//! Synthetic tags for demos and benchmarks: realistic names (`latest`,
//! `v1.2.3`, `build-000123`, `sha-1a2b3c4`, branch builds), hex digests and
//! image ids, manifest JSON, 1–500 MB sizes, times spread over two years (with
//! some exact ties, so the `id` tie-break is exercised), ~8% manifest lists.
//!
//! Deterministic: the same `(n, seed)` gives the same tags. Names embed the
//! tag's index injectively, so the `n` names are distinct; names that already
//! exist in the repository are skipped (so a re-run adds nothing).

use fastrand::Rng;

use crate::store::time::parse_timestamp;
use crate::store::{AnyStore, NewTag, StoreError};

/// Domain used when none is given.
pub const DEMO_DOMAIN_ID: &str = "0503dda878000fed0f75c0096d70a960";
/// Name given to [`DEMO_DOMAIN_ID`] when synth creates it.
pub const DEMO_DOMAIN_NAME: &str = "demo";

/// What [`synth`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthReport {
    /// Id of the (possibly new) repository.
    pub repo_id: i64,
    /// Tags generated.
    pub generated: u64,
    /// Tags inserted (generated minus names that already existed).
    pub inserted: u64,
}

/// Inserts `n` synthetic tags into `namespace/repository` of `domain_id`
/// (default [`DEMO_DOMAIN_ID`]), creating the domain, namespace and
/// repository if missing. Loads in bulk (see `AnyStore::bulk_insert_tags`).
pub async fn synth(
    store: &AnyStore,
    domain_id: Option<&str>,
    namespace: &str,
    repository: &str,
    n: u64,
    seed: u64,
) -> Result<SynthReport, StoreError> {
    let (domain_id, domain_name) = match domain_id {
        Some(id) => (id, id),
        None => (DEMO_DOMAIN_ID, DEMO_DOMAIN_NAME),
    };
    let repo_id = store
        .ensure_repository(domain_id, domain_name, namespace, repository)
        .await?;
    let generator = Generator::new(n, seed);
    let inserted = store
        .bulk_insert_tags(repo_id, (0..n).map(|i| generator.tag(i)))
        .await?;
    Ok(SynthReport {
        repo_id,
        generated: n,
        inserted,
    })
}

/// Two years of pushes, starting 2023-01-01.
const SPAN: i64 = 2 * 365 * 86_400;

/// The tags of one `(n, seed)`.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    start: i64,
    /// Seconds between consecutive tags (at least 1).
    step: f64,
}

impl Generator {
    /// A generator of `n` tags.
    pub fn new(n: u64, seed: u64) -> Self {
        let start = parse_timestamp("2023-01-01T00:00:00Z").unwrap_or(0);
        Generator {
            seed,
            start,
            step: (SPAN as f64 / n.max(1) as f64).max(1.0),
        }
    }

    /// Push time of tag `i`: evenly spread, plus up to 10 minutes of jitter.
    fn time_of(&self, i: u64) -> i64 {
        let jitter = Rng::with_seed(self.seed ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03)).u64(..600);
        self.start + (i as f64 * self.step) as i64 + jitter as i64
    }

    /// Tag number `i`.
    pub fn tag(&self, i: u64) -> NewTag {
        let mut rng = Rng::with_seed(self.seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let roll = rng.u64(..100);
        let name = match i {
            0 => "latest".to_owned(),
            1 => "stable".to_owned(),
            2 => "edge".to_owned(),
            3 => "nightly".to_owned(),
            _ if roll < 35 => format!("build-{i:06}"),
            _ if roll < 60 => {
                let rc = if rng.u64(..10) == 0 { "-rc.1" } else { "" };
                format!("v{}.{}.{}{rc}", i / 1_000_000, i / 1000 % 1000, i % 1000)
            }
            _ if roll < 85 => format!("sha-{:07x}", permute28(i, self.seed)),
            _ if roll < 95 => {
                const BRANCHES: [&str; 5] = [
                    "main",
                    "develop",
                    "release_2.x",
                    "feature-Login",
                    "hotfix_DB-42",
                ];
                format!("{}-{i}", BRANCHES[rng.usize(..5)])
            }
            _ => format!("nightly_{}.{i}", 20230101 + rng.u64(..1200)),
        };

        // Mostly increasing with the index, with jitter; every 50th tag
        // shares its predecessor's time exactly.
        let updated = if i % 50 == 1 && i > 1 {
            self.time_of(i - 1)
        } else {
            self.time_of(i)
        };
        let created = updated - rng.u64(..3) as i64 * rng.u64(..30 * 86_400) as i64;

        let size = 1_000_000 + rng.u64(..499_000_000) as i64;
        let image_id = hex64(&mut rng);
        let tag_type = i64::from(rng.u64(..100) < 8);
        let schema = if tag_type == 0 && rng.u64(..200) == 0 {
            1
        } else {
            2
        };
        let manifest = if tag_type == 1 {
            manifest_list(&mut rng)
        } else if schema == 1 {
            format!(
                r#"{{"schemaVersion":1,"name":"library/app","tag":"{name}","architecture":"amd64","fsLayers":[{{"blobSum":"sha256:{}"}}]}}"#,
                hex64(&mut rng)
            )
        } else {
            image_manifest(&mut rng, &image_id, size)
        };
        let digest = format!("sha256:{}", hex64(&mut rng));
        NewTag {
            tag: name,
            image_id,
            manifest,
            digest,
            schema,
            size,
            is_trusted: rng.u64(..20) == 0,
            scanned: rng.u64(..10) < 6,
            tag_type,
            created,
            updated,
            deleted: None,
        }
    }
}

fn image_manifest(rng: &mut Rng, image_id: &str, size: i64) -> String {
    let layers = 1 + rng.u64(..4) as i64;
    let mut out = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"sha256:{image_id}"}},"layers":["#,
        1000 + rng.u64(..9000)
    );
    for l in 0..layers {
        let layer_size = if l + 1 == layers {
            size - size / layers * l
        } else {
            size / layers
        };
        if l > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{layer_size},"digest":"sha256:{}"}}"#,
            hex64(rng)
        ));
    }
    out.push_str("]}");
    out
}

fn manifest_list(rng: &mut Rng) -> String {
    let mut out = String::from(
        r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":["#,
    );
    for (k, arch) in ["amd64", "arm64"].into_iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":{},"digest":"sha256:{}","platform":{{"architecture":"{arch}","os":"linux"}}}}"#,
            500 + rng.u64(..1500),
            hex64(rng)
        ));
    }
    out.push_str("]}");
    out
}

/// A bijection on 28-bit numbers (so `sha-xxxxxxx` names never collide for
/// i < 2^28): odd multiplications and xor-shifts are invertible mod 2^28.
fn permute28(i: u64, seed: u64) -> u64 {
    const MASK: u64 = (1 << 28) - 1;
    let mut x = (i ^ seed) & MASK;
    x = x.wrapping_mul(0x2C1_B3C6D) & MASK;
    x ^= x >> 13;
    x = x.wrapping_mul(0x297_A2D39) & MASK;
    x ^= x >> 15;
    x
}

/// 32 random bytes in lowercase hex (an image id or a digest).
fn hex64(rng: &mut Rng) -> String {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use swr_api::names::is_valid_tag;

    #[test]
    fn names_are_distinct_valid_and_deterministic() {
        let g = Generator::new(200_000, 7);
        let mut seen = HashSet::new();
        for i in 0..200_000 {
            let t = g.tag(i);
            assert!(is_valid_tag(&t.tag), "{}", t.tag);
            assert!(seen.insert(t.tag.clone()), "duplicate {}", t.tag);
            assert!(t.created <= t.updated);
            assert!((1_000_000..=500_000_000).contains(&t.size));
            serde_json::from_str::<serde_json::Value>(&t.manifest).unwrap();
        }
        assert_eq!(g.tag(12345), Generator::new(200_000, 7).tag(12345));
    }

    #[test]
    fn permute28_is_a_bijection_on_a_sample() {
        let mut seen = HashSet::new();
        for i in 0..(1 << 20) {
            assert!(seen.insert(permute28(i, 99)));
        }
    }
}

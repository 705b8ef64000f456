//! `swrd serve --demo`: a demo domain with known credentials, the API page's
//! `group/busybox` example tag, and a few hundred synthetic tags, so a newcomer
//! can make a real request within a minute. Loading twice changes nothing.

use crate::fixtures;
use crate::store::{AnyStore, StoreError};
use crate::synth::{self, DEMO_DOMAIN_ID};

/// The demo token (documented; never use `--demo` on a shared server).
pub const TOKEN: &str = "demo-token";
/// The demo access key.
pub const ACCESS_KEY: &str = "DEMOACCESSKEY";
/// The demo secret key.
pub const SECRET_KEY: &str = "DEMOSECRETKEY";
/// How many synthetic tags are generated for `group/busybox`. The first of
/// them is named `latest`, like the seed tag, and is skipped as a duplicate,
/// so `group/busybox` ends up with exactly this many tags in total: the seed
/// `latest` and 299 synthetic ones.
pub const SYNTHETIC_TAGS: u64 = 300;

fn fixture() -> String {
    format!(
        r#"
domains:
  - id: "{DEMO_DOMAIN_ID}"
    name: demo
    tokens: ["{TOKEN}"]
    credentials: [{{ak: "{ACCESS_KEY}", sk: "{SECRET_KEY}"}}]
namespaces:
  - name: group
    domain: "{DEMO_DOMAIN_ID}"
    repositories:
      - name: busybox
        tags:
          - tag: latest
            image_id: 741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6
            digest: sha256:57b605845a6367c34bfb6ea6477f16852f59aa1861a2b51d10ab77ae0a1dc9c3
            manifest: '{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":1862,"digest":"sha256:741f24a795d6d93d7c6edd11780d63c13e16c39615dd9d223378a57a836f2ee6"}},"layers":[]}}'
            schema: 2
            size: 1304902
            created: "2018-07-06T06:18:55Z"
            updated: "2018-07-06T06:18:55Z"
      - name: tools/busybox
        tags:
          - {{tag: "1.36", digest: "sha256:{d}", size: 2200000, created: "2024-05-01T10:00:00Z", updated: "2024-05-01T10:00:00Z"}}
"#,
        d = "1".repeat(64)
    )
}

/// Loads the demo data.
pub async fn load(store: &AnyStore) -> Result<(), StoreError> {
    let fixture = fixtures::parse(&fixture(), "demo").map_err(StoreError::InvalidFixture)?;
    crate::store::Import::import(store, &fixture).await?;
    synth::synth(
        store,
        Some(DEMO_DOMAIN_ID),
        "group",
        "busybox",
        SYNTHETIC_TAGS,
        7,
    )
    .await?;
    Ok(())
}

/// What to print so a newcomer can call the server right away.
pub fn banner(base: &str) -> String {
    format!(
        "\n  demo data loaded: namespace `group`, repositories `busybox` (a few hundred tags) and `tools/busybox`\n\
         \n  token:   {TOKEN}\n  AK/SK:   {ACCESS_KEY} / {SECRET_KEY}\n\
         \n  curl -s -H 'X-Auth-Token: {TOKEN}' '{base}/v2/manage/namespaces/group/repos/busybox/tags?offset=0&limit=5' \n\
         \n  swr --endpoint {base} --token {TOKEN} tags list group/busybox --limit 10\
         \n  docs:    {base}/docs/\n"
    )
}

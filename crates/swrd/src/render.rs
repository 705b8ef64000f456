//! Store records as the API shows them: the leaf every answer passes through
//! (the listing service's SQL path and its page cache alike).

use swr_api::types::ShowReposTagResp;

use crate::store::TagRecord;

/// Registry addresses used to build `path` and `internal_path`.
#[derive(Debug, Clone)]
pub struct Registry {
    /// External pull host, e.g. `swr.cn-north-4.myhuaweicloud.com`.
    pub host: String,
    /// In-cluster pull host, e.g. `10.125.0.198:20202`.
    pub internal_host: String,
}

/// A store record as the API's model, with the pull addresses filled in.
pub fn render(registry: &Registry, r: TagRecord) -> ShowReposTagResp {
    let reference = format!("{}/{}:{}", r.namespace, r.repository, r.tag);
    ShowReposTagResp {
        path: format!("{}/{reference}", registry.host),
        internal_path: format!("{}/{reference}", registry.internal_host),
        id: r.id,
        repo_id: r.repo_id,
        tag: r.tag,
        image_id: r.image_id,
        manifest: r.manifest,
        digest: r.digest,
        schema: r.schema,
        size: r.size,
        is_trusted: r.is_trusted,
        created: r.created,
        updated: r.updated,
        deleted: r.deleted,
        domain_id: r.domain_id,
        scanned: r.scanned,
        // The store only holds 0 or 1 (checked on every write).
        tag_type: r
            .tag_type
            .try_into()
            .unwrap_or_else(|_| 0.try_into().expect("0 is a tag_type")),
    }
}

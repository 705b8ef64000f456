//! Where requests go: Huawei Cloud's regional SWR endpoint, or any base URL
//! (`swrd`, a proxy, another cloud's SWR).

use super::SwrError;

/// `https://swr-api.{region}.myhuaweicloud.com`, the SWR API endpoint of a
/// Huawei Cloud region (`cn-north-4`, `ap-southeast-1`, …). The region must be
/// lowercase letters, digits and inner `-`, so it cannot smuggle in another
/// host.
pub fn region_endpoint(region: &str) -> Result<String, SwrError> {
    let ok = !region.is_empty()
        && region.len() <= 64
        && !region.starts_with('-')
        && !region.ends_with('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(SwrError::InvalidRequest(format!(
            "{region:?} is not a region name such as cn-north-4"
        )));
    }
    Ok(format!("https://swr-api.{region}.myhuaweicloud.com"))
}

/// Checks a base URL (`http` or `https`, a host, no query or fragment; a path
/// prefix is kept) and drops trailing `/`s, since the generated client
/// appends `/v2/…` to it as is.
pub fn validate_base_url(url: &str) -> Result<String, SwrError> {
    let bad = |why: &str| SwrError::InvalidRequest(format!("endpoint {url:?} {why}"));
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("must start with http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        assert_eq!(
            region_endpoint("cn-north-4").unwrap(),
            "https://swr-api.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(
            region_endpoint("ap-southeast-1").unwrap(),
            "https://swr-api.ap-southeast-1.myhuaweicloud.com"
        );
        for bad in ["", "CN-NORTH-4", "evil.com/x", "a b", "-x", "x-", "a.b"] {
            assert!(region_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            validate_base_url("http://127.0.0.1:18181/").unwrap(),
            "http://127.0.0.1:18181"
        );
        assert_eq!(
            validate_base_url("https://proxy.example/swr/").unwrap(),
            "https://proxy.example/swr"
        );
        for bad in [
            "127.0.0.1:8080",
            "ftp://x",
            "http://x/?a=1",
            "http://u:p@x",
            "nonsense",
        ] {
            assert!(validate_base_url(bad).is_err(), "{bad}");
        }
    }
}

//! The name rules of the API and of the registry behind it: namespace,
//! repository (stored form, `/` between components), tag and digest. One
//! definition, used by the fixture format, swrd's store, its registry feed
//! and the reference in-memory server.

/// The API's namespace rule:
/// `^[a-z][a-z0-9]*(?:(?:[._-]|__)[a-z0-9]+)*$`, 1 to 64 characters.
pub fn is_valid_namespace(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.as_bytes()[0].is_ascii_lowercase()
        && separated_runs(s.as_bytes(), |sep| {
            matches!(sep, b"." | b"_" | b"-" | b"__")
        })
}

/// The API's repository rule in its stored form (`/` between components,
/// where the wire form has `$`): 1 to 128 characters, each component
/// `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`.
pub fn is_valid_repository(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.split('/').all(|c| {
            separated_runs(c.as_bytes(), |sep| {
                matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&b| b == b'-')
            })
        })
}

/// A tag name: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (the registry's rule).
pub fn is_valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=128).contains(&b.len())
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `run (sep run)*` with `run = [a-z0-9]+`; `sep_ok` judges each maximal
/// stretch between runs.
fn separated_runs(b: &[u8], sep_ok: impl Fn(&[u8]) -> bool) -> bool {
    let run = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && run(&b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let start = i;
        while i < b.len() && !run(&b[i]) {
            i += 1;
        }
        if i == b.len() || !sep_ok(&b[start..i]) {
            return false;
        }
    }
}

pub(crate) fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// OCI digest grammar; sha256 and sha512 must have their exact hex length.
pub fn is_valid_digest(s: &str) -> bool {
    let Some((alg, enc)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = separated_runs(alg.as_bytes(), |sep| {
        matches!(sep, b"+" | b"." | b"_" | b"-")
    });
    let enc_ok = !enc.is_empty()
        && enc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    s.len() <= 255
        && alg_ok
        && enc_ok
        && match alg {
            "sha256" => is_lower_hex(enc, 64),
            "sha512" => is_lower_hex(enc, 128),
            _ => true,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        for ok in ["group", "a", "a1", "a.b", "a__b", "a-b_c.d", "g0"] {
            assert!(is_valid_namespace(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "A",
            "a-",
            "a..b",
            "a___b",
            "a-_b",
            "a/b",
            "_a",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_namespace(bad), "{bad}");
        }
        for ok in ["busybox", "tools/busybox", "a--b", "a__b/c.d", "0", "a/b/c"] {
            assert!(is_valid_repository(ok), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "a$b",
            "A",
            "a-",
            "a._b",
            "a___b",
            &"a".repeat(129),
        ] {
            assert!(!is_valid_repository(bad), "{bad}");
        }
        for ok in ["latest", "v1.2.3", "_x", "A-b.C_d", &"a".repeat(128)] {
            assert!(is_valid_tag(ok), "{ok}");
        }
        for bad in ["", ".x", "-x", "a b", "a/b", &"a".repeat(129)] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
        assert!(is_valid_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_valid_digest(&format!("sha256:{}", "A".repeat(64))));
        assert!(!is_valid_digest("sha256:abc"));
        assert!(is_valid_digest(
            "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"
        ));
    }
}

//! The standard fixture: the data every check needs, in swrd's fixture format.

use swr_api::fixture::{self, Fixture};

/// The standard fixture as YAML (swrd's fixture format): seed the server under
/// test with it, then run the kit with the same file. The comment at its top
/// says what each part is for.
///
/// Domain A (`conformance-a`) has a token, an expired token, a token valid
/// until 9999 and an AK/SK pair; domain B (`conformance-b`) a token and an
/// AK/SK pair. A's namespace holds `tags` (160 tags with tied update times and
/// names whose byte order differs from case-insensitive order),
/// `tools/busybox` (a `/` in the name) and `empty`; B's namespace holds two
/// repositories A must not see.
pub const STANDARD_FIXTURE: &str = include_str!("../fixtures/standard.yaml");

/// [`STANDARD_FIXTURE`], parsed.
pub fn standard_fixture() -> Fixture {
    // The file is part of this crate and tested; failing here is a build defect.
    fixture::parse(STANDARD_FIXTURE, "standard.yaml")
        .expect("the standard fixture is valid (tested)")
}

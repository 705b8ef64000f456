//! `Content-Range`: neither parser panics; strict results print and reparse;
//! lenient accepts what strict accepts, with the same values; lenient results
//! are consistent (`offset + count <= total` or an empty page).
#![no_main]

use libfuzzer_sys::fuzz_target;
use swr_api::ContentRange;

fn consistent(r: &ContentRange) -> bool {
    r.count == 0 || r.offset.checked_add(r.count).is_some_and(|e| e <= r.total)
}

fuzz_target!(|data: &str| {
    let strict = data.parse::<ContentRange>();
    let lenient = ContentRange::parse_lenient(data);
    if let Ok(r) = &strict {
        assert!(consistent(r), "{data:?}");
        assert_eq!(r.to_string().parse::<ContentRange>().as_ref(), Ok(r));
        assert_eq!(lenient.as_ref(), Ok(r), "{data:?}");
    }
    if let Ok(l) = &lenient {
        assert!(consistent(l), "{data:?} -> {l:?}");
        assert_eq!(l.to_string().parse::<ContentRange>().as_ref(), Ok(l));
    }
});

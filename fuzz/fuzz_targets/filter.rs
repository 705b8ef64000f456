//! The `filter` grammar: parsing never panics, accepted filters print
//! canonically and reparse, and merging with separate parameters never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swr_filter::{RawQuery, TagFilter};

fuzz_target!(|data: &str| {
    match data.parse::<TagFilter>() {
        Ok(f) => {
            let canonical = f.to_string();
            assert_eq!(canonical.parse::<TagFilter>(), Ok(f.clone()), "{data:?}");
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(serde_json::from_str::<TagFilter>(&json).unwrap(), f);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    // The same bytes split over the separate parameters (`\n`-separated).
    let mut parts = data.split('\n');
    let mut next = || parts.next();
    let q = RawQuery {
        filter: next(),
        offset: next(),
        limit: next(),
        order_column: next(),
        order_type: next(),
        tag: next(),
    };
    if let Ok(f) = q.merge() {
        assert_eq!(f.to_string().parse::<TagFilter>(), Ok(f));
    }
});

//! swrd's webhook body parser: arbitrary bytes never panic, and an accepted
//! envelope accounts for each of its events exactly once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swrd::registry::webhook::parse_envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = parse_envelope(data) {
        let value: serde_json::Value = serde_json::from_slice(data).unwrap();
        // `{"events": [...]}`, or serde's sequence form of it, `[[...]]`.
        let events = match &value {
            serde_json::Value::Array(a) if a.len() == 1 => a[0].as_array(),
            v => v["events"].as_array(),
        };
        let n = p.pushes + p.deletes + p.ignored + p.rejected;
        assert_eq!(Some(n), events.map(Vec::len), "{value}");
    }
});

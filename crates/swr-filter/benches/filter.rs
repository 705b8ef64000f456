//! Parse/format cost of the `filter` string, for the seed example and a short
//! paging-only filter.

use divan::black_box;
use swr_filter::TagFilter;

const INPUTS: [&str; 2] = [
    "offset::0|limit::10|order_column::updated_at|order_type::desc|tag::v1",
    "offset::0|limit::100",
];

fn main() {
    divan::main();
}

#[divan::bench(args = INPUTS)]
fn parse(s: &str) -> TagFilter {
    black_box(s).parse().unwrap()
}

#[divan::bench(args = INPUTS)]
fn format(bencher: divan::Bencher, s: &str) {
    let f: TagFilter = s.parse().unwrap();
    bencher.bench(|| black_box(&f).to_string());
}

//! The conformance kit, in-process, against this server.
#[path = "../src/main.rs"]
#[allow(dead_code)]
mod server;

#[tokio::test]
async fn the_in_memory_server_conforms() {
    let fixture = swr_conformance::standard_fixture();
    let report = swr_conformance::run(server::app(&fixture), &fixture).await;
    println!("{report}");
    assert!(report.is_success(), "{report}");
}

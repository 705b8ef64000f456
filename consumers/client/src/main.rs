//! Lists a repository's tags: `SWR_ENDPOINT=http://127.0.0.1:8080 SWR_TOKEN=demo-token
//! swr-consumer-client group busybox`.
use swr_api::client::{ListOptions, SwrClient};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (namespace, repository) = (args.next().ok_or("NAMESPACE")?, args.next().ok_or("REPOSITORY")?);
    let swr = SwrClient::builder()
        .endpoint(std::env::var("SWR_ENDPOINT")?)
        .token(std::env::var("SWR_TOKEN")?)
        .build()?;
    let page = swr.list_tags(&namespace, &repository, &ListOptions::default()).await?;
    for tag in &page.tags {
        println!("{}\t{}", tag.tag, tag.digest);
    }
    println!("{} of {:?} tags", page.tags.len(), page.total());
    Ok(())
}

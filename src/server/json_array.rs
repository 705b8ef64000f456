//! [`JsonArray`]: the body of a response that is a JSON array.
//!
//! Listing a whole repository can mean a million tags, so an array body is not
//! forced into a `Vec`: an implementation may hand the router a stream of items
//! (serialized as they arrive, in batches) or of items it already holds as
//! serialized JSON. Memory then stays flat however long the array is.

use std::fmt;
use std::pin::Pin;

use axum::body::{Body, Bytes};
use futures_util::{Stream, StreamExt, TryStreamExt};

/// An error while producing a streamed item; it aborts the response body (the
/// status is already sent), so the client sees a truncated, invalid document.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, BoxError>> + Send>>;

/// A JSON array response body.
pub enum JsonArray<T> {
    /// Items in memory.
    Items(Vec<T>),
    /// Items produced on demand and serialized as they come.
    Stream(BoxStream<T>),
    /// Items already serialized, one complete JSON value each (no separators).
    Raw(BoxStream<Bytes>),
    /// The whole array already serialized (`[`, the items, `]`): sent as it
    /// is, with a `Content-Length`.
    Encoded(Bytes),
}

/// Items that are ready together are written as one chunk of about this size.
const BATCH: usize = 256;

impl<T> JsonArray<T> {
    /// A streamed body.
    pub fn stream<E: Into<BoxError> + 'static>(
        items: impl Stream<Item = Result<T, E>> + Send + 'static,
    ) -> Self {
        Self::Stream(Box::pin(items.map_err(Into::into)))
    }

    /// A streamed body of pre-serialized JSON values.
    pub fn raw<E: Into<BoxError> + 'static>(
        values: impl Stream<Item = Result<Bytes, E>> + Send + 'static,
    ) -> Self {
        Self::Raw(Box::pin(values.map_err(Into::into)))
    }

    /// The items, when they are in memory.
    pub fn as_items(&self) -> Option<&[T]> {
        match self {
            Self::Items(items) => Some(items),
            Self::Stream(_) | Self::Raw(_) | Self::Encoded(_) => None,
        }
    }
}

impl<T: serde::Serialize + Send + 'static> JsonArray<T> {
    /// The HTTP body: `[`, the items joined by `,`, `]`.
    pub fn into_body(self) -> Result<Body, serde_json::Error> {
        match self {
            Self::Items(items) => Ok(Body::from(serde_json::to_vec(&items)?)),
            Self::Stream(items) => Ok(framed(items.ready_chunks(BATCH).map(|batch| {
                let mut out = Vec::new();
                for item in batch {
                    out.push(Bytes::from(serde_json::to_vec(&item?)?));
                }
                Ok(out)
            }))),
            Self::Encoded(body) => Ok(Body::from(body)),
            Self::Raw(values) => {
                Ok(framed(values.ready_chunks(BATCH).map(|batch| {
                    batch.into_iter().collect::<Result<Vec<_>, _>>()
                })))
            }
        }
    }
}

/// Wraps batches of serialized values in `[`, `,` and `]`.
fn framed(batches: impl Stream<Item = Result<Vec<Bytes>, BoxError>> + Send + 'static) -> Body {
    let mut first = true;
    let body = futures_util::stream::once(async { Ok::<_, BoxError>(Bytes::from_static(b"[")) })
        .chain(batches.map(move |batch| {
            let batch = batch?;
            let mut chunk = Vec::with_capacity(batch.iter().map(|b| b.len() + 1).sum());
            for value in batch {
                if !std::mem::take(&mut first) {
                    chunk.push(b',');
                }
                chunk.extend_from_slice(&value);
            }
            Ok(Bytes::from(chunk))
        }))
        .chain(futures_util::stream::once(async {
            Ok(Bytes::from_static(b"]"))
        }));
    Body::from_stream(body)
}

impl<T> From<Vec<T>> for JsonArray<T> {
    fn from(items: Vec<T>) -> Self {
        Self::Items(items)
    }
}

impl<T: fmt::Debug> fmt::Debug for JsonArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Items(items) => f.debug_tuple("Items").field(items).finish(),
            Self::Stream(_) => f.write_str("Stream(..)"),
            Self::Raw(_) => f.write_str("Raw(..)"),
            Self::Encoded(body) => write!(f, "Encoded({} bytes)", body.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn text(body: JsonArray<u32>) -> String {
        let bytes = axum::body::to_bytes(body.into_body().unwrap(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn every_form_writes_the_same_array() {
        let expected = serde_json::to_string(&(0..1000).collect::<Vec<u32>>()).unwrap();
        assert_eq!(text(JsonArray::Items((0..1000).collect())).await, expected);
        let stream = futures_util::stream::iter((0..1000).map(Ok::<_, BoxError>));
        assert_eq!(text(JsonArray::stream(stream)).await, expected);
        let raw = futures_util::stream::iter(
            (0..1000u32).map(|i| Ok::<_, BoxError>(Bytes::from(i.to_string()))),
        );
        assert_eq!(text(JsonArray::raw(raw)).await, expected);
        let empty = futures_util::stream::iter(std::iter::empty::<Result<u32, BoxError>>());
        assert_eq!(text(JsonArray::stream(empty)).await, "[]");
    }

    #[tokio::test]
    async fn an_error_mid_stream_aborts_the_body() {
        let items = futures_util::stream::iter(vec![Ok(1u32), Err(BoxError::from("store failed"))]);
        let body = JsonArray::stream(items).into_body().unwrap();
        assert!(axum::body::to_bytes(body, usize::MAX).await.is_err());
    }
}

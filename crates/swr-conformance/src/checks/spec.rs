//! The spec the server publishes.

use serde_json::Value;

use crate::call::{Call, Verdict};
use crate::context::Ctx;
use crate::spec_facts::spec as kit_spec;

checks!("spec":
    openapi_json => "GET /openapi.json is the project's spec (swr_api::SPEC_JSON) as JSON, \
        ignoring the top-level servers (a server may list itself first)",
);

async fn openapi_json(ctx: &Ctx) -> Verdict {
    let ex = ctx
        .send(Call::get("/openapi.json").content_type(None))
        .await;
    ex.expect_status(200)?;
    let mut served = ex.json()?;
    let mut expected = kit_spec().clone();
    for doc in [&mut served, &mut expected] {
        if let Some(map) = doc.as_object_mut() {
            map.remove("servers");
        }
    }
    if served != expected {
        let at = first_difference(&served, &expected, String::new());
        return Err(ex.fail(format!(
            "the served spec differs from swr_api::SPEC_JSON at {at}"
        )));
    }
    Ok(())
}

/// JSON pointer of the first place where `a` and `b` differ.
fn first_difference(a: &Value, b: &Value, at: String) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .find(|k| x.get(*k) != y.get(*k))
                .map_or(at.clone(), |k| match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => first_difference(v, w, format!("{at}/{k}")),
                    _ => format!("{at}/{k}"),
                })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .position(|(v, w)| v != w)
            .map_or(at.clone(), |i| {
                first_difference(&x[i], &y[i], format!("{at}/{i}"))
            }),
        _ if at.is_empty() => "/".to_owned(),
        _ => at,
    }
}

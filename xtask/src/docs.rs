//! `cargo xtask docs`: the API reference as one static HTML page, rendered from
//! the spec with no JavaScript and no network access, so it can be published
//! anywhere (or opened from disk) and read offline.
//!
//! `swrd` serves the interactive version (Swagger UI) at `/docs`; this page is
//! the one to publish.

use std::fmt::Write as _;

use serde_json::Value;

/// Renders the whole spec (as JSON) into one HTML document.
pub fn render(spec: &Value) -> String {
    let mut h = String::new();
    let title = esc(spec["info"]["title"].as_str().unwrap_or("API"));
    let version = esc(spec["info"]["version"].as_str().unwrap_or(""));
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{CSS}</style></head><body><main>\n\
         <h1>{title} <small>v{version}</small></h1>\n{}",
        para(&spec["info"]["description"])
    );
    h.push_str("<h2 id=\"servers\">Servers</h2><ul>");
    for s in spec["servers"].as_array().into_iter().flatten() {
        let _ = write!(
            h,
            "<li><code>{}</code> — {}</li>",
            esc(str_of(&s["url"])),
            esc(str_of(&s["description"]))
        );
    }
    h.push_str("</ul>\n");
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            operation(&mut h, path, method, id, op);
        }
    }
    h.push_str("<h2 id=\"security\">Authentication</h2><dl>");
    for (name, s) in spec["components"]["securitySchemes"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let _ = write!(
            h,
            "<dt><code>{}</code> — {} in header <code>{}</code></dt><dd>{}</dd>",
            esc(name),
            esc(str_of(&s["type"])),
            esc(str_of(&s["name"])),
            para(&s["description"])
        );
    }
    h.push_str("</dl>\n<h2 id=\"schemas\">Schemas</h2>");
    for (name, schema) in spec["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let _ = write!(
            h,
            "<h3 id=\"schema-{0}\">{0}</h3>{1}",
            esc(name),
            para(&schema["description"])
        );
        schema_table(&mut h, schema);
    }
    h.push_str("</main></body></html>\n");
    h
}

fn operation(h: &mut String, path: &str, method: &str, id: &str, op: &Value) {
    let _ = write!(
        h,
        "<section class=\"op\" id=\"op-{id}\"><h2><span class=\"method\">{}</span> <code>{}</code></h2>\
         <p class=\"opid\">operationId <code>{id}</code> — {}</p>{}",
        method.to_uppercase(),
        esc(path),
        esc(str_of(&op["summary"])),
        para(&op["description"])
    );
    h.push_str("<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>");
    for p in op["parameters"].as_array().into_iter().flatten() {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(str_of(&p["name"])),
            esc(str_of(&p["in"])),
            type_of(&p["schema"]),
            if p["required"] == true { "yes" } else { "no" },
            para(&p["description"])
        );
    }
    h.push_str("</table><h3>Responses</h3><table><tr><th>status</th><th>body</th><th>headers</th><th>description</th></tr>");
    for (status, r) in op["responses"].as_object().into_iter().flatten() {
        let body = r["content"]["application/json"]["schema"].clone();
        let headers: Vec<String> = r["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(n, _)| format!("<code>{}</code>", esc(n)))
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(status),
            type_of(&body),
            headers.join(", "),
            para(&r["description"])
        );
    }
    h.push_str("</table>");
    if let Some(example) = op["responses"]["200"]["content"]["application/json"].get("example") {
        let _ = write!(
            h,
            "<h3>Example response</h3><pre>{}</pre>",
            esc(&serde_json::to_string_pretty(example).unwrap_or_default())
        );
    }
    h.push_str("</section>\n");
}

fn schema_table(h: &mut String, schema: &Value) {
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", esc(&v.to_string())))
            .collect();
        let _ = write!(h, "<p>One of {}.</p>", values.join(", "));
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        let _ = write!(h, "<p>Pattern <code>{}</code></p>", esc(pattern));
    }
    let Some(props) = schema["properties"].as_object() else {
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    h.push_str("<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>");
    for (name, p) in props {
        let nullable = if p["nullable"] == true { " | null" } else { "" };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}{nullable}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            type_of(p),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                "no"
            },
            para(&p["description"])
        );
    }
    h.push_str("</table>");
}

/// A short type label; refs link to the schema section.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    match schema["type"].as_str() {
        Some("array") => format!("array of {}", type_of(&schema["items"])),
        Some(t) => {
            let format = schema["format"]
                .as_str()
                .map(|f| format!(" ({})", esc(f)))
                .unwrap_or_default();
            let range = match (schema.get("minimum"), schema.get("maximum")) {
                (Some(lo), Some(hi)) => format!(", {lo}..={hi}"),
                (Some(lo), None) => format!(", ≥ {lo}"),
                _ => String::new(),
            };
            format!("{}{format}{range}", esc(t))
        }
        None => String::new(),
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// Paragraphs from a Markdown-ish description: blank lines split paragraphs,
/// `code` spans and **bold** are kept; everything else is escaped text.
fn para(v: &Value) -> String {
    let Some(text) = v.as_str() else {
        return String::new();
    };
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", inline(&esc(p.trim()))))
        .collect()
}

fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            for (j, bold) in part.split("**").enumerate() {
                if j % 2 == 1 {
                    let _ = write!(out, "<strong>{bold}</strong>");
                } else {
                    out.push_str(bold);
                }
            }
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#fafafa;color:#222}\
main{max-width:980px;margin:auto;padding:1em 2em}h1 small{color:#888;font-size:.5em}\
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border:1px solid #ddd;padding:.3em .5em;vertical-align:top;text-align:left}\
th{background:#f0f0f0}code{background:#eee;padding:0 .2em;border-radius:3px}\
pre{background:#272822;color:#f8f8f2;padding:1em;overflow:auto;font-size:12px}\
.method{background:#2a7;color:#fff;padding:.1em .5em;border-radius:4px;font-size:.8em}\
.op{background:#fff;border:1px solid #ddd;border-radius:6px;padding:0 1.5em;margin:1.5em 0}.opid{color:#555}";

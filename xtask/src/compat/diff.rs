//! [`diff`]: every difference between two specs, classified.

use serde_json::{Map, Value};

use super::{Change, Class};

/// Every difference from `old` to `new`.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut d = Differ {
        old,
        new,
        out: Vec::new(),
    };
    d.error_codes();
    d.operations();
    d.out
        .sort_by(|a, b| (a.class, &a.at).cmp(&(b.class, &b.at)));
    d.out
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Which way a schema is used: a request value is written by old clients, a
/// response value read by them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

struct Differ<'a> {
    old: &'a Value,
    new: &'a Value,
    out: Vec<Change>,
}

impl Differ<'_> {
    fn push(&mut self, class: Class, at: &str, what: impl Into<String>) {
        self.out.push(Change {
            class,
            at: at.to_owned(),
            what: what.into(),
        });
    }

    fn error_codes(&mut self) {
        let (old, new) = (&self.old["x-error-codes"], &self.new["x-error-codes"]);
        for (key, code) in obj(old) {
            match new.get(key) {
                Some(c) if c == code => {}
                Some(c) => self.push(
                    Class::Breaking,
                    &format!("x-error-codes.{key}"),
                    format!("error code changed from {code} to {c}"),
                ),
                None => self.push(
                    Class::Breaking,
                    &format!("x-error-codes.{key}"),
                    format!("error code {code} removed"),
                ),
            }
        }
        for (key, code) in obj(new) {
            if old.get(key).is_none() {
                self.push(
                    Class::Compatible,
                    &format!("x-error-codes.{key}"),
                    format!("new error code {code}"),
                );
            }
        }
    }

    fn operations(&mut self) {
        for (path, item) in obj(&self.old["paths"]) {
            for method in METHODS {
                let Some(old_op) = item.get(method) else {
                    continue;
                };
                let at = format!("{} {path}", method.to_uppercase());
                match self.new["paths"].get(path).and_then(|i| i.get(method)) {
                    None => self.push(
                        Class::Breaking,
                        &at,
                        "operation removed (or its path renamed)",
                    ),
                    Some(new_op) => self.operation(&at, old_op, new_op),
                }
            }
        }
        for (path, item) in obj(&self.new["paths"]) {
            for method in METHODS {
                if item.get(method).is_some()
                    && self.old["paths"]
                        .get(path)
                        .and_then(|i| i.get(method))
                        .is_none()
                {
                    let at = format!("{} {path}", method.to_uppercase());
                    self.push(Class::Compatible, &at, "new operation");
                }
            }
        }
    }

    fn operation(&mut self, at: &str, old: &Value, new: &Value) {
        if old["operationId"] != new["operationId"] {
            self.push(
                Class::Breaking,
                at,
                format!(
                    "operationId renamed from {} to {} (the client method's name)",
                    old["operationId"], new["operationId"]
                ),
            );
        }
        self.docs(at, old, new, &["summary", "description"]);
        let old_params = params(self.old, old);
        let new_params = params(self.new, new);
        for ((loc, name), op) in &old_params {
            let at = format!("{at}: {loc} parameter {name}");
            match new_params.iter().find(|(k, _)| k.0 == *loc && k.1 == *name) {
                None => self.push(Class::Breaking, &at, "parameter removed (or renamed)"),
                Some((_, np)) => self.parameter(&at, op, np),
            }
        }
        for ((loc, name), np) in &new_params {
            if !old_params.iter().any(|(k, _)| k.0 == *loc && k.1 == *name) {
                let at = format!("{at}: {loc} parameter {name}");
                if np["required"] == true {
                    self.push(Class::Breaking, &at, "new required parameter");
                } else {
                    self.push(Class::Compatible, &at, "new optional parameter");
                }
            }
        }
        self.responses(at, &old["responses"], &new["responses"]);
    }

    fn parameter(&mut self, at: &str, old: &Value, new: &Value) {
        match (old["required"] == true, new["required"] == true) {
            (false, true) => self.push(Class::Breaking, at, "now required"),
            (true, false) => self.push(Class::Compatible, at, "now optional"),
            _ => {}
        }
        if old["x-error-code"] != new["x-error-code"] {
            self.push(
                Class::Breaking,
                at,
                format!(
                    "error code changed from {} to {}",
                    old["x-error-code"], new["x-error-code"]
                ),
            );
        }
        self.docs(at, old, new, &["description", "example", "examples"]);
        self.schema(at, &old["schema"], &new["schema"], Direction::Request, 0);
    }

    fn responses(&mut self, at: &str, old: &Value, new: &Value) {
        for (status, or) in obj(old) {
            let at = format!("{at}: response {status}");
            let (or, nr) = (
                resolve(self.old, or),
                match new.get(status) {
                    Some(nr) => resolve(self.new, nr),
                    None => {
                        self.push(Class::Breaking, &at, "status removed");
                        continue;
                    }
                },
            );
            let codes = |r: &Value| -> Vec<String> {
                r["x-swr-error-codes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            };
            let (oc, nc) = (codes(or), codes(nr));
            for c in oc.iter().filter(|c| !nc.contains(c)) {
                self.push(
                    Class::Breaking,
                    &at,
                    format!("error code {c} no longer answered (changed or removed)"),
                );
            }
            for c in nc.iter().filter(|c| !oc.contains(c)) {
                self.push(Class::Compatible, &at, format!("new error code {c}"));
            }
            self.docs(&at, or, nr, &["description"]);
            for (name, oh) in obj(&or["headers"]) {
                let hat = format!("{at}: header {name}");
                match nr["headers"].get(name) {
                    None => self.push(Class::Breaking, &hat, "response header removed"),
                    Some(nh) => {
                        let (oh, nh) = (resolve(self.old, oh), resolve(self.new, nh));
                        self.schema(&hat, &oh["schema"], &nh["schema"], Direction::Response, 0);
                    }
                }
            }
            for (name, _) in obj(&nr["headers"]) {
                if or["headers"].get(name).is_none() {
                    self.push(
                        Class::Compatible,
                        &format!("{at}: header {name}"),
                        "new response header",
                    );
                }
            }
            let body = |r: &Value| r["content"]["application/json"]["schema"].clone();
            self.schema(&at, &body(or), &body(nr), Direction::Response, 0);
        }
        for (status, _) in obj(new) {
            if old.get(status).is_none() {
                self.push(
                    Class::Compatible,
                    &format!("{at}: response {status}"),
                    "new status",
                );
            }
        }
    }

    fn docs(&mut self, at: &str, old: &Value, new: &Value, keys: &[&str]) {
        for key in keys {
            if old[key] != new[key] {
                self.push(
                    Class::Compatible,
                    at,
                    format!("documentation: {key} changed"),
                );
            }
        }
    }

    /// Compares two schemas used in `dir`; `depth` stops runaway recursion.
    fn schema(&mut self, at: &str, old: &Value, new: &Value, dir: Direction, depth: usize) {
        if depth > 16 || (old.is_null() && new.is_null()) {
            return;
        }
        let (old, new) = (resolve(self.old, old), resolve(self.new, new));
        // A constraint a request value must now meet narrows; a value a
        // response may now carry widens. Each is breaking one way round.
        let narrowing = match dir {
            Direction::Request => Class::Breaking,
            Direction::Response => Class::Compatible,
        };
        let widening = match dir {
            Direction::Request => Class::Compatible,
            Direction::Response => Class::Breaking,
        };
        for key in ["type", "format"] {
            if old[key] != new[key] {
                self.push(
                    Class::Breaking,
                    at,
                    format!("{key} changed from {} to {}", old[key], new[key]),
                );
            }
        }
        let values = |s: &Value| s["enum"].as_array().cloned();
        match (values(old), values(new)) {
            (Some(o), Some(n)) => {
                for v in o.iter().filter(|v| !n.contains(v)) {
                    self.push(narrowing, at, format!("enum value {v} removed"));
                }
                for v in n.iter().filter(|v| !o.contains(v)) {
                    self.push(widening, at, format!("enum value {v} added"));
                }
            }
            (None, Some(_)) => self.push(narrowing, at, "now limited to an enum"),
            (Some(_), None) => self.push(widening, at, "no longer limited to an enum"),
            (None, None) => {}
        }
        if old["pattern"] != new["pattern"] {
            match (&old["pattern"], &new["pattern"]) {
                (_, Value::Null) => self.push(widening, at, "pattern removed"),
                // Two regexes cannot be compared: assume the worst.
                (o, n) => self.push(
                    Class::Breaking,
                    at,
                    format!("pattern changed from {o} to {n}"),
                ),
            }
        }
        for (key, lower_bound) in [
            ("minLength", true),
            ("maxLength", false),
            ("minimum", true),
            ("maximum", false),
            ("minItems", true),
            ("maxItems", false),
        ] {
            let (o, n) = (old[key].as_f64(), new[key].as_f64());
            if o == n {
                continue;
            }
            let tighter = match (o, n) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(o), Some(n)) => {
                    if lower_bound {
                        n > o
                    } else {
                        n < o
                    }
                }
            };
            let class = if tighter { narrowing } else { widening };
            self.push(
                class,
                at,
                format!("{key} changed from {} to {}", old[key], new[key]),
            );
        }
        if old["nullable"] != new["nullable"] {
            let class = if new["nullable"] == true {
                widening
            } else {
                narrowing
            };
            self.push(
                class,
                at,
                format!("nullable changed to {}", new["nullable"]),
            );
        }
        self.docs(at, old, new, &["description", "example", "title"]);
        let required =
            |s: &Value| -> Vec<Value> { s["required"].as_array().cloned().unwrap_or_default() };
        let (oreq, nreq) = (required(old), required(new));
        for (name, op) in obj(&old["properties"]) {
            let pat = format!("{at}: field {name}");
            match new["properties"].get(name) {
                None => self.push(Class::Breaking, &pat, "field removed (or renamed)"),
                Some(np) => self.schema(&pat, op, np, dir, depth + 1),
            }
            let key = Value::String(name.clone());
            match (oreq.contains(&key), nreq.contains(&key)) {
                (true, false) => self.push(widening, &pat, "no longer required"),
                (false, true) => self.push(narrowing, &pat, "now required"),
                _ => {}
            }
        }
        for (name, _) in obj(&new["properties"]) {
            if old["properties"].get(name).is_none() {
                let pat = format!("{at}: field {name}");
                let class =
                    if dir == Direction::Request && nreq.contains(&Value::String(name.clone())) {
                        Class::Breaking
                    } else {
                        Class::Compatible
                    };
                self.push(class, &pat, "new field");
            }
        }
        if !old["items"].is_null() || !new["items"].is_null() {
            self.schema(
                &format!("{at}[]"),
                &old["items"],
                &new["items"],
                dir,
                depth + 1,
            );
        }
    }
}

/// The operation's parameters (path-level ones included), `$ref`s resolved,
/// keyed by location and name.
fn params<'a>(spec: &'a Value, op: &'a Value) -> Vec<((String, String), &'a Value)> {
    op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolve(spec, p))
        .map(|p| {
            let key = (
                p["in"].as_str().unwrap_or_default().to_owned(),
                p["name"].as_str().unwrap_or_default().to_owned(),
            );
            (key, p)
        })
        .collect()
}

/// Follows a local `$ref` (`#/components/...`), once.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap_or(v),
        None => v,
    }
}

fn obj(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flat_map(Map::iter)
}

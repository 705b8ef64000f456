//! Generates the spec's model types once more, this time deriving
//! `utoipa::ToSchema`, so `cargo xtask check` can compare the spec with a
//! document derived from the code (see `src/schema_drift.rs`).

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo::rerun-if-changed=../openapi.yaml");
    let yaml = fs::read_to_string("../openapi.yaml").expect("read openapi.yaml");
    let spec = swr_codegen::load_spec(&yaml).expect("openapi.yaml");
    let mut options = swr_codegen::ClientOptions::default();
    options.derives.push("::utoipa::ToSchema".into());
    let generated = swr_codegen::generate_client_with(&spec, &options).expect("codegen");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("derived_types.rs"), generated.types).expect("write");

    // A registry of every generated (not replaced) component schema, by name.
    let replaced: Vec<&str> = options
        .replacements
        .iter()
        .map(|r| r.schema.as_str())
        .collect();
    let mut registry = String::from(
        "/// Every generated component schema: its spec name, utoipa's schema of the\n\
         /// Rust type, and the schemas it refers to.\n\
         pub fn derived_schemas() -> Vec<Derived> {\n    vec![\n",
    );
    for name in spec
        .openapi
        .components
        .iter()
        .flat_map(|c| c.schemas.keys())
    {
        if replaced.contains(&name.as_str()) {
            continue;
        }
        let ty = heck::AsUpperCamelCase(name).to_string();
        registry.push_str(&format!(
            "        ({name:?}, <types::{ty} as ::utoipa::PartialSchema>::schema(), {{ let mut deps = Vec::new(); <types::{ty} as ::utoipa::ToSchema>::schemas(&mut deps); deps }}),\n"
        ));
    }
    registry.push_str("    ]\n}\n");
    fs::write(out.join("derived_registry.rs"), registry).expect("write");
}

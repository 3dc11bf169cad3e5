//! The shared test vectors (`../shared/spec/vectors` beside the repository, or `$OW_SPEC_DIR/vectors`).

use std::path::PathBuf;

use anyhow::Context;

/// The vectors directory.
pub fn vectors_dir() -> PathBuf {
    let spec = std::env::var_os("OW_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec"));
    spec.join("vectors")
}

/// The JSON of vector `number` (e.g. `"50"` for `50-kafka-activationmessage-basic.json`), without
/// the trailing newline.
pub fn vector_json(number: &str) -> anyhow::Result<String> {
    let dir = vectors_dir();
    let prefix = format!("{number}-");
    let path = std::fs::read_dir(&dir)
        .with_context(|| format!("spec: cannot list {} (set OW_SPEC_DIR)", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
        })
        .with_context(|| format!("spec: no vector {number}-*.json in {}", dir.display()))?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("spec: reading {}", path.display()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

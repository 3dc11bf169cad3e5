//! Generates the `activation` gRPC types, client and server from `proto/activation.proto`.
//!
//! protoc comes from `protoc-bin-vendored` so the build needs no system protoc; it is passed
//! through `prost_build::Config::protoc_executable` because setting `PROTOC` in our own
//! environment would need `unsafe` under edition 2024, which the workspace forbids.

use std::error::Error;

const PROTO: &str = "proto/activation.proto";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO}");
    println!("cargo:rerun-if-changed=build.rs");

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    // `google/protobuf/wrappers.proto` lives in the vendored include dir; prost maps
    // `Int64Value` to `Option<i64>` itself, so the well-known types are not compiled.
    let well_known = protoc_bin_vendored::include_path()?;
    let includes = [std::path::PathBuf::from("proto"), well_known];

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_with_config(config, &[std::path::PathBuf::from(PROTO)], &includes)?;
    Ok(())
}

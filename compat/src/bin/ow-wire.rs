//! `ow-wire`: decode and re-encode OpenWhisk wire documents from the command line.
//!
//! `ow-wire types` lists the type names; `ow-wire roundtrip TYPE` reads one JSON document from
//! stdin and writes its canonical compact encoding. Invalid input exits with status 2 and one
//! line naming the type and the JSON path of the offending field.

use std::io::{Read, Write};
use std::process::ExitCode;

use ow_compat::codec::{TYPES, roundtrip_named};

const USAGE: &str = "usage: ow-wire types | ow-wire roundtrip TYPE < document.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["types"] => list_types(),
        ["roundtrip", type_name] => roundtrip(type_name),
        ["-h" | "--help" | "help"] => {
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            ExitCode::SUCCESS
        }
        _ => fail(USAGE),
    }
}

fn list_types() -> ExitCode {
    let mut out = std::io::stdout().lock();
    for (name, _) in TYPES {
        if writeln!(out, "{name}").is_err() {
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

fn roundtrip(type_name: &str) -> ExitCode {
    let mut input = Vec::new();
    // Read at most one byte past the decoder's limit so an endless stdin cannot exhaust memory.
    let limit = ow_compat::json::MAX_DOCUMENT_BYTES as u64 + 1;
    if let Err(e) = std::io::stdin().lock().take(limit).read_to_end(&mut input) {
        return fail(&format!("ow-wire: cannot read stdin: {e}"));
    }
    match roundtrip_named(type_name, &input) {
        None => fail(&format!(
            "ow-wire: unknown type {type_name:?}; `ow-wire types` lists them"
        )),
        Some(Err(e)) => fail(&format!("ow-wire: {e}")),
        Some(Ok(encoded)) => {
            let mut out = std::io::stdout().lock();
            match out
                .write_all(encoded.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(1),
            }
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{}", message.replace('\n', " "));
    ExitCode::from(2)
}

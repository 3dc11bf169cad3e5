//! The documents the agent reads and writes: action code (CouchDB `whisks`, inline, inlined
//! `mem:` attachments or CouchDB attachments) and activation records (`activations`).

use std::future::Future;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use ow_compat::records::{ActivationDocument, WhiskActionDocument};
use ow_compat::store::{CouchStore, MemoryStore, Store, StoreError};
use ow_compat::values::{CodeBody, Exec};

use crate::record::ActionCode;

/// An action document with its code resolved for `/init`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutableAction {
    pub doc: WhiskActionDocument,
    pub code: ActionCode,
}

/// Where the code of an action comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSource {
    /// Ready as stored (text, or base64 for binary code).
    Inline(Option<String>),
    /// Bytes inlined in the attachment name (`mem:<base64>`).
    Bytes(Vec<u8>),
    /// A CouchDB attachment of the action document.
    Attachment(String),
}

/// The agent's view of CouchDB.
pub trait ActionStore: Clone + Send + Sync + 'static {
    /// The action `doc_id` at revision `rev` (the latest when `rev` is `None`), code included.
    fn executable(
        &self,
        doc_id: &str,
        rev: Option<&str>,
    ) -> impl Future<Output = Result<ExecutableAction, StoreError>> + Send;
    /// Stores an activation record.
    fn put_activation(
        &self,
        doc: &ActivationDocument,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The code, binary flag and entry point of an exec, and where the code must be read from.
pub fn code_source(exec: &Exec) -> (CodeSource, bool, Option<String>) {
    let (body, binary, main) = match exec {
        Exec::Code {
            code, binary, main, ..
        } => (Some(code), *binary, main.clone()),
        Exec::Blackbox {
            code, binary, main, ..
        } => (code.as_ref(), *binary, main.clone()),
        Exec::Sequence { .. } => (None, false, None),
    };
    let source = match body {
        None => CodeSource::Inline(None),
        Some(CodeBody::Inline(text)) => CodeSource::Inline(Some(text.clone())),
        Some(CodeBody::Attached(a)) => match a.attachment_name.strip_prefix("mem:") {
            Some(encoded) => CodeSource::Bytes(decode_base64(encoded).unwrap_or_default()),
            None => CodeSource::Attachment(
                a.attachment_name
                    .strip_prefix("couch:")
                    .unwrap_or(&a.attachment_name)
                    .to_owned(),
            ),
        },
    };
    (source, binary, main)
}

/// Attachment bytes as `/init` wants them: base64 for binary code, else UTF-8 text.
pub fn code_text(bytes: &[u8], binary: bool) -> String {
    if binary {
        STANDARD.encode(bytes)
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    [URL_SAFE, URL_SAFE_NO_PAD, STANDARD]
        .iter()
        .find_map(|engine| engine.decode(text.trim()).ok())
}

/// The action with its code: inline, base64 in the document, or an attachment read by `fetch`.
pub async fn resolve<F, Fut>(
    doc: WhiskActionDocument,
    fetch: F,
) -> Result<ExecutableAction, StoreError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<Vec<u8>, StoreError>>,
{
    let (source, binary, main) = code_source(&doc.exec);
    let code = match source {
        CodeSource::Inline(text) => text,
        CodeSource::Bytes(bytes) => Some(code_text(&bytes, binary)),
        CodeSource::Attachment(name) => Some(code_text(&fetch(name).await?, binary)),
    };
    Ok(ExecutableAction {
        doc,
        code: ActionCode { code, binary, main },
    })
}

/// [`resolve`] for stores that keep every action's code in its document (in memory,
/// standalone): a separate attachment is reported as not found.
pub async fn resolve_inline(
    doc: WhiskActionDocument,
    doc_id: &str,
) -> Result<ExecutableAction, StoreError> {
    resolve(doc, |name| async move {
        Err(StoreError::NotFound {
            what: "attachment",
            id: format!("{doc_id}/{name}"),
        })
    })
    .await
}

impl ActionStore for CouchStore {
    async fn executable(
        &self,
        doc_id: &str,
        rev: Option<&str>,
    ) -> Result<ExecutableAction, StoreError> {
        let doc = Store::action(self, doc_id, rev).await?;
        resolve(
            doc,
            |name| async move { self.attachment(doc_id, &name).await },
        )
        .await
    }

    async fn put_activation(&self, doc: &ActivationDocument) -> Result<(), StoreError> {
        Store::put_activation(self, doc).await
    }
}

impl ActionStore for MemoryStore {
    async fn executable(
        &self,
        doc_id: &str,
        rev: Option<&str>,
    ) -> Result<ExecutableAction, StoreError> {
        let doc = Store::action(self, doc_id, rev).await?;
        resolve_inline(doc, doc_id).await
    }

    async fn put_activation(&self, doc: &ActivationDocument) -> Result<(), StoreError> {
        Store::put_activation(self, doc).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ow_compat::values::Attachment;

    fn attached(name: &str, binary: bool) -> Exec {
        Exec::Code {
            kind: "java:8".into(),
            code: CodeBody::Attached(Attachment {
                attachment_name: name.into(),
                attachment_type: "application/java-archive".into(),
                length: None,
                digest: None,
            }),
            binary,
            main: Some("Hello".into()),
        }
    }

    #[test]
    fn code_comes_inline_from_the_name_or_from_an_attachment() {
        let (src, binary, main) = code_source(&attached("mem:aGVsbG8=", true));
        assert_eq!(src, CodeSource::Bytes(b"hello".to_vec()));
        assert!(binary);
        assert_eq!(main.as_deref(), Some("Hello"));
        assert_eq!(
            code_source(&attached("couch:1234-abcd", true)).0,
            CodeSource::Attachment("1234-abcd".into())
        );
        assert_eq!(
            code_source(&attached("codefile", false)).0,
            CodeSource::Attachment("codefile".into())
        );
        let inline = Exec::Code {
            kind: "python:3.10".into(),
            code: CodeBody::Inline("def main(a): return a".into()),
            binary: false,
            main: None,
        };
        assert_eq!(
            code_source(&inline).0,
            CodeSource::Inline(Some("def main(a): return a".into()))
        );
    }

    #[test]
    fn binary_attachments_are_sent_base64_and_text_as_is() {
        assert_eq!(code_text(b"hello", true), "aGVsbG8=");
        assert_eq!(code_text("héllo".as_bytes(), false), "héllo");
    }
}

//! The report-intake body as the server parses a `multipart/form-data` report
//! (`routes::reports::parse_multipart`: the `report` part and its size limit, the report JSON, then
//! the `attachment` parts by name, index and order). Never panics; an accepted body has exactly one
//! blob per attachment of the reported message.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use report_server::routes::reports::parse_multipart;

/// The boundary the seeds use (`fuzz/seed_corpus.py`).
const CONTENT_TYPE: &str = "multipart/form-data; boundary=franking-fuzz";
/// Small, so that the size limit of the `report` part is reached too.
const MAX_REPORT_BYTES: usize = 16 * 1024;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let body = axum::body::Bytes::copy_from_slice(data);
    let parsed = runtime().block_on(parse_multipart(CONTENT_TYPE, body, MAX_REPORT_BYTES));
    if let Ok(p) = parsed {
        assert_eq!(
            p.blobs.len(),
            p.references.len(),
            "blob count differs from references"
        );
    }
});

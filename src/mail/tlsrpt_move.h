#pragma once
// Moves TLS-RPT reports a server received before it had an object store (TlsRptStore's folder,
// <tlsrpt_dir>/<domain>/<day>_<hash>.json) into the store (TlsRptBucket: logs/TLSRPT/<domain>/
// <day>/<hash>.json), so `moat mail reports` and the logs bucket's lifecycle see them all.
// Run by app::Runtime when it starts with a store, before the receiver listens.
//
// Safe to repeat and to interrupt: a file is removed only after the sink acknowledged its object
// (the store's put returns once it is durable), and the sink's If-None-Match dedup by the same
// key means a file whose object already exists (an earlier run stopped before the unlink) is a
// duplicate, not a second version. A file that does not parse as a report, or whose folder is
// not a domain, is left where it is with a warning: never lost. Blocks on file and store I/O.

#include <string>

#include "core/result.h"
#include "mail/tlsrpt_sink.h"

namespace moat::mail {

struct TlsRptMoved {
    int moved = 0;       // new objects, file removed
    int duplicates = 0;  // the object existed already, file removed
    int left = 0;        // malformed or misplaced: kept in the folder (warned)
    int failed = 0;      // the sink refused (store error): kept in the folder (warned)
};

// Errors only when `dir` exists but cannot be listed; a missing folder moves nothing.
Result<TlsRptMoved> move_folder_reports(const std::string& dir, TlsRptSink& into);

}  // namespace moat::mail

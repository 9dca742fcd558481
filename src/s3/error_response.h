#pragma once
// The one place where errors become S3 answers (STYLE.md §4: one mapping per surface), and the
// one conversion from the store's reason space (store::Reason) to the s3 one (s3::Code).

#include <string>
#include <string_view>

#include "core/result.h"
#include "s3/errors.h"

namespace moat::s3 {

// Converts an error returned by a store::Store call into an s3 error. Call it right where the
// store call returns, so every Error past that point carries an s3::Code in `reason`.
Error from_store(const Error& e);

// The s3 code of an error: its reason when it is one, else one derived from Error::code (an
// error from outside both spaces, e.g. a body read that timed out).
Code code_of(const Error& e);

struct ErrorReply {
    int status = 500;
    std::string code;  // "NoSuchKey"; empty for 304 (no body)
    std::string body;  // <Error> document; empty for 304
};

// The S3 error document (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):
// Code, Message, Resource, RequestId, plus Region for AuthorizationHeaderMalformed (s3cmd
// retries with it). Messages of 500s are generic: the detail goes to the log, not the peer.
ErrorReply error_response(const Error& e, std::string_view resource, std::string_view request_id,
                          std::string_view region);

}  // namespace moat::s3

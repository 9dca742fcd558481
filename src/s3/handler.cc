#include "s3/handler.h"

#include <fmt/format.h>

#include <random>

#include "core/log.h"
#include "s3/auth.h"
#include "s3/error_response.h"
#include "s3/errors.h"
#include "s3/internal/ops.h"
#include "s3/internal/text.h"
#include "s3/server_access_log.h"

namespace moat::s3 {
namespace {

using internal::Call;

// Remembers the status sent, for the access log.
class StatusTap : public edge::ServiceResponse {
public:
    explicit StatusTap(edge::ServiceResponse& inner) : inner_(inner) {}
    Result<void> start(int status, const edge::ServiceHeaders& headers,
                       std::uint64_t content_length) override {
        status_ = status;
        return inner_.start(status, headers, content_length);
    }
    Result<void> write(std::string_view bytes) override { return inner_.write(bytes); }
    bool started() const override { return inner_.started(); }
    int status() const { return status_; }

private:
    edge::ServiceResponse& inner_;
    int status_ = 0;
};

Result<void> run(Call& c) {
    using namespace internal;
    switch (c.route.op) {
        case Op::kListBuckets:
            return list_buckets(c);
        case Op::kCreateBucket:
            return create_bucket(c);
        case Op::kDeleteBucket:
            return delete_bucket(c);
        case Op::kHeadBucket:
            return head_bucket(c);
        case Op::kGetBucketLocation:
            return get_bucket_location(c);
        case Op::kGetBucketVersioning:
            return get_bucket_versioning(c);
        case Op::kPutBucketVersioning:
            return put_bucket_versioning(c);
        case Op::kGetBucketLifecycle:
            return get_bucket_lifecycle(c);
        case Op::kPutBucketLifecycle:
            return put_bucket_lifecycle(c);
        case Op::kDeleteBucketLifecycle:
            return delete_bucket_lifecycle(c);
        case Op::kGetBucketEncryption:
            return get_bucket_encryption(c);
        case Op::kPutBucketEncryption:
            return put_bucket_encryption(c);
        case Op::kListObjects:
        case Op::kListObjectsV2:
            return list_objects(c);
        case Op::kListObjectVersions:
            return list_object_versions(c);
        case Op::kListMultipartUploads:
            return list_multipart_uploads(c);
        case Op::kDeleteObjects:
            return delete_objects(c);
        case Op::kPutObject:
            return put_object(c);
        case Op::kCopyObject:
            return copy_object(c);
        case Op::kGetObject:
        case Op::kHeadObject:
            return get_object(c);
        case Op::kDeleteObject:
            return delete_object(c);
        case Op::kCreateMultipartUpload:
            return create_multipart_upload(c);
        case Op::kUploadPart:
            return upload_part(c);
        case Op::kUploadPartCopy:
            return upload_part_copy(c);
        case Op::kCompleteMultipartUpload:
            return complete_multipart_upload(c);
        case Op::kAbortMultipartUpload:
            return abort_multipart_upload(c);
        case Op::kListParts:
            return list_parts(c);
    }
    return s3_error(Code::kInternalError, "unrouted operation");
}

// "/bucket/key" as S3 puts it in <Resource>.
std::string resource_of(const edge::ServiceRequest& req) { return req.path; }

// The access-log resource word of an operation (REST.<METHOD>.<RESOURCE>).
std::string log_resource(const Route* r) {
    if (!r) return "UNKNOWN";
    switch (r->op) {
        case Op::kListBuckets:
            return "SERVICE";
        case Op::kGetBucketLocation:
            return "LOCATION";
        case Op::kGetBucketVersioning:
        case Op::kPutBucketVersioning:
            return "VERSIONING";
        case Op::kGetBucketLifecycle:
        case Op::kPutBucketLifecycle:
        case Op::kDeleteBucketLifecycle:
            return "LIFECYCLE";
        case Op::kGetBucketEncryption:
        case Op::kPutBucketEncryption:
            return "ENCRYPTION";
        case Op::kListObjectVersions:
            return "VERSIONS";
        case Op::kListMultipartUploads:
        case Op::kCreateMultipartUpload:
            return "UPLOADS";
        case Op::kDeleteObjects:
            return "MULTI_OBJECT_DELETE";
        case Op::kUploadPart:
        case Op::kUploadPartCopy:
        case Op::kCompleteMultipartUpload:
        case Op::kAbortMultipartUpload:
        case Op::kListParts:
            return "UPLOAD";
        case Op::kCreateBucket:
        case Op::kDeleteBucket:
        case Op::kHeadBucket:
        case Op::kListObjects:
        case Op::kListObjectsV2:
            return "BUCKET";
        default:
            return "OBJECT";
    }
}

}  // namespace

S3Handler::S3Handler(store::Store& store, S3Settings settings, ServerAccessLog* access_log, Now now)
    : store_(store),
      settings_(std::move(settings)),
      access_log_(access_log),
      now_(now ? std::move(now) : Now([] { return std::chrono::system_clock::now(); })) {
    std::random_device rd;
    id_seed_ = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

std::string S3Handler::next_request_id() {
    // Unique per process and unpredictable across restarts: a seed and a counter, mixed.
    std::uint64_t x = id_seed_ + 0x9E3779B97F4A7C15ull * (counter_.fetch_add(1) + 1);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    return fmt::format("{:016X}", x);
}

void S3Handler::handle(edge::ServiceRequest& req, edge::ServiceResponse& raw_res) {
    StatusTap res(raw_res);
    auto started = std::chrono::steady_clock::now();
    std::string request_id = next_request_id();
    RouteInput in{req.method, req.host, req.path, req.query,
                  !req.header("x-amz-copy-source").empty()};
    auto route = resolve_route(in, settings_.hosts);

    FindKey find = [this](std::string_view id) -> Result<store::KeyRecord> {
        auto k = store_.find_key(id);
        // kNotFound goes back as it is: authenticate() answers InvalidAccessKeyId for it.
        if (!k && k.error().code != Errc::kNotFound) return from_store(k.error());
        return k;
    };
    auto auth = authenticate(req, find, now_());

    Result<void> outcome;
    AuthResult anonymous{};
    anonymous.anonymous = true;
    const AuthResult& a = auth ? *auth : anonymous;
    Route empty_route;
    Call call{req,        res,
              store_,     settings_,
              a,          route ? *route : empty_route,
              request_id, resource_of(req),
              {},         {},
              0,          std::nullopt};
    if (!auth) {
        outcome = auth.error();
    } else if (auth->anonymous) {
        // moat serves no public buckets: the edge serves public content, not the S3 API.
        outcome = s3_error(Code::kAccessDenied, "Access Denied");
    } else if (!route) {
        outcome = route.error();
    } else {
        outcome = run(call);
    }

    std::string error_code;
    int status = 200;
    if (!outcome) {
        auto reply = error_response(outcome.error(), call.resource, request_id, settings_.region);
        error_code = reply.code;
        status = reply.status;
        if (reply.status >= 500) {
            core::logger("s3")->error("s3 request failed id={} op={} err={}", request_id,
                                      route ? op_name(route->op) : "-", outcome.error().detail);
        } else if (core::logger("s3")->should_log(spdlog::level::debug)) {
            core::logger("s3")->debug("s3 request refused id={} code={} detail={}", request_id,
                                      reply.code, outcome.error().detail);
        }
        if (!res.started()) {
            auto h = call.headers(std::move(call.error_headers));
            bool body = !reply.body.empty() && req.method != "HEAD";
            if (body) h.emplace_back("content-type", "application/xml");
            // HEAD answers carry no body; the status says it all (HeadObject API).
            (void)res.send(reply.status, h, body ? std::string_view(reply.body) : "");
            call.bytes_sent = body ? reply.body.size() : 0;
        }
    }

    if (on_write_ && route && !route->bucket.empty() && req.method != "GET" &&
        req.method != "HEAD") {
        WriteEvent w;
        w.principal = a.anonymous ? "" : a.key.principal;
        w.operation = op_name(route->op);
        w.bucket = route->bucket;
        w.key = route->key;
        w.version_id = call.version_id;
        w.status = res.status() ? res.status() : status;
        w.error_code = error_code;
        w.peer_ip = req.peer_ip;
        on_write_(w);
    }

    if (access_log_ && route && !route->bucket.empty()) {
        ServerAccessRecord r;
        r.bucket = route->bucket;
        r.time = req.received;
        r.remote_ip = req.peer_ip;
        r.requester = a.anonymous ? "" : a.key.principal;
        r.request_id = request_id;
        r.operation = operation_name(req.method, log_resource(&*route));
        r.key = route->key;
        r.method = req.method;
        r.target = req.target;
        r.status = res.status() ? res.status() : status;
        r.error_code = error_code;
        r.bytes_sent = call.bytes_sent;
        r.object_size = call.object_size;
        r.total_time = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        r.referer = std::string(req.header("referer"));
        r.user_agent = std::string(req.header("user-agent"));
        r.version_id = call.version_id;
        r.signature_version = a.anonymous ? "" : "SigV4";
        r.auth_type = a.anonymous ? "" : a.presigned ? "QueryString" : "AuthHeader";
        r.host_header = std::string(req.header("host"));
        r.tls_version = req.tls_version;
        r.cipher_suite = req.tls_cipher;
        access_log_->record(r);
    }
}

}  // namespace moat::s3

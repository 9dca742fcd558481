#pragma once
// TlsSettings -> CertTable: loads or issues every configured certificate.

#include <memory>

#include "core/result.h"
#include "tls/cert_table.h"
#include "tls/internal_ca.h"
#include "tls/settings.h"

namespace moat::tls {

// Builds the table for all settings.certs: kInternal entries are issued by `ca` (may be null
// when there are none), kFiles entries are loaded and must cover every listed name, kAcme
// entries load cert_file/key_file when the ACME part has written them (names the stored
// certificate does not cover yet are left out) and are skipped until then. An entry's optional
// RSA companion (rsa_cert_file/rsa_key_file) is served beside its certificate: for kFiles it
// must load, be RSA and cover every name; for kAcme it is left out until written; for
// kInternal with internal_rsa the CA issues an RSA-2048 leaf for the same names. The certificate
// of settings.default_host, if set, becomes the default. Blocks (disk, key generation): call at
// start-up or reload, off the workers. Errors name the offending entry: kInvalidArgument (no names,
// a name the file does not cover, default_host without a certificate, internal entry without a CA),
// kConflict (a name in two entries), and whatever loading or issuing returned.
Result<std::shared_ptr<const CertTable>> build_cert_table(const TlsSettings& settings,
                                                          InternalCa* ca);

}  // namespace moat::tls

// RFC 2136 UPDATE packets with TSIG (RFC 8945), checked by parsing them back with ldns.
#include "acme/dns_update.h"

#include <gtest/gtest.h>
#include <ldns/ldns.h>

namespace moat::acme {
namespace {

constexpr char kSecret[] = "ZB626da+RvWcD/AZ7CEgW0e1IWdABn/4Kw2uPoWoAdM=";

struct Parsed {
    ldns_pkt* p = nullptr;
    ~Parsed() { ldns_pkt_free(p); }
};

UpdateSpec spec(bool add) {
    return UpdateSpec{"example.test",
                      "_acme-challenge.site.example.test",
                      "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
                      add,
                      60,
                      "acme-key",
                      "hmac-sha256",
                      kSecret,
                      4242};
}

std::string rdf(const ldns_rdf* r) {
    char* s = ldns_rdf2str(r);
    std::string out = s ? s : "";
    free(s);
    return out;
}

TEST(UpdatePacket, AddsOneTxtRecordSignedWithTsig) {
    auto wire = build_update_packet(spec(true));
    ASSERT_TRUE(wire) << wire.error().detail;
    Parsed pk;
    ASSERT_EQ(ldns_wire2pkt(&pk.p, reinterpret_cast<const uint8_t*>(wire->data()), wire->size()),
              LDNS_STATUS_OK);
    EXPECT_EQ(ldns_pkt_get_opcode(pk.p), LDNS_PACKET_UPDATE);
    EXPECT_EQ(ldns_pkt_id(pk.p), 4242);
    // Zone section (the question slot): the zone apex, SOA, IN (RFC 2136 §2.3).
    ASSERT_EQ(ldns_rr_list_rr_count(ldns_pkt_question(pk.p)), 1u);
    ldns_rr* z = ldns_rr_list_rr(ldns_pkt_question(pk.p), 0);
    EXPECT_EQ(rdf(ldns_rr_owner(z)), "example.test.");
    EXPECT_EQ(ldns_rr_get_type(z), LDNS_RR_TYPE_SOA);
    // Update section (the authority slot): exactly one TXT RR, class IN, TTL 60.
    ASSERT_EQ(ldns_rr_list_rr_count(ldns_pkt_authority(pk.p)), 1u);
    ldns_rr* u = ldns_rr_list_rr(ldns_pkt_authority(pk.p), 0);
    EXPECT_EQ(rdf(ldns_rr_owner(u)), "_acme-challenge.site.example.test.");
    EXPECT_EQ(ldns_rr_get_type(u), LDNS_RR_TYPE_TXT);
    EXPECT_EQ(ldns_rr_get_class(u), LDNS_RR_CLASS_IN);
    EXPECT_EQ(ldns_rr_ttl(u), 60u);
    EXPECT_EQ(rdf(ldns_rr_rdf(u, 0)), "\"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\"");
    // TSIG record last (RFC 8945 §4.2) with our key name and algorithm, verifiable.
    ldns_rr* tsig = ldns_pkt_tsig(pk.p);
    ASSERT_NE(tsig, nullptr);
    EXPECT_EQ(rdf(ldns_rr_owner(tsig)), "acme-key.");
    EXPECT_EQ(rdf(ldns_rr_rdf(tsig, 0)), "hmac-sha256.");
    EXPECT_TRUE(ldns_pkt_tsig_verify(pk.p, reinterpret_cast<const uint8_t*>(wire->data()),
                                     wire->size(), "acme-key.", kSecret, nullptr));
    EXPECT_FALSE(ldns_pkt_tsig_verify(pk.p, reinterpret_cast<const uint8_t*>(wire->data()),
                                      wire->size(), "acme-key.",
                                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", nullptr));
}

TEST(UpdatePacket, RemoveDeletesThatRecordOnly) {
    auto wire = build_update_packet(spec(false));
    ASSERT_TRUE(wire);
    Parsed pk;
    ASSERT_EQ(ldns_wire2pkt(&pk.p, reinterpret_cast<const uint8_t*>(wire->data()), wire->size()),
              LDNS_STATUS_OK);
    ldns_rr* u = ldns_rr_list_rr(ldns_pkt_authority(pk.p), 0);
    // RFC 2136 §2.5.4: class NONE + TTL 0 + the rdata deletes one RR, not the RRset (ANY).
    EXPECT_EQ(ldns_rr_get_class(u), LDNS_RR_CLASS_NONE);
    EXPECT_EQ(ldns_rr_ttl(u), 0u);
    EXPECT_EQ(ldns_rr_get_type(u), LDNS_RR_TYPE_TXT);
    EXPECT_EQ(ldns_rr_rd_count(u), 1u);
}

TEST(UpdatePacket, UnsignedWithoutKey) {
    UpdateSpec s = spec(true);
    s.key_name.clear();
    auto wire = build_update_packet(s);
    ASSERT_TRUE(wire);
    Parsed pk;
    ASSERT_EQ(ldns_wire2pkt(&pk.p, reinterpret_cast<const uint8_t*>(wire->data()), wire->size()),
              LDNS_STATUS_OK);
    EXPECT_EQ(ldns_pkt_tsig(pk.p), nullptr);
}

TEST(UpdatePacket, RefusesBadInputWithoutLeakingTheSecret) {
    UpdateSpec s = spec(true);
    s.value = "a\" ; evil";
    EXPECT_FALSE(build_update_packet(s));
    s = spec(true);
    s.fqdn = "bad name";
    EXPECT_FALSE(build_update_packet(s));
    s = spec(true);
    s.algorithm = "hmac-md5";
    EXPECT_FALSE(build_update_packet(s));
    s = spec(true);
    s.secret = "not*base64";
    auto r = build_update_packet(s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail.find("not*base64"), std::string::npos);
}

TEST(HostPort, ParsesForms) {
    EXPECT_EQ(*parse_host_port("127.0.0.1:5353"),
              std::make_pair(std::string("127.0.0.1"), uint16_t{5353}));
    EXPECT_EQ(*parse_host_port("[::1]:53"), std::make_pair(std::string("::1"), uint16_t{53}));
    EXPECT_EQ(*parse_host_port("ns.example.com"),
              std::make_pair(std::string("ns.example.com"), uint16_t{53}));
    EXPECT_FALSE(parse_host_port("host:99999"));
    EXPECT_FALSE(parse_host_port("host:"));
    EXPECT_FALSE(parse_host_port("[::1"));
}

TEST(DnsUpdater, UnreachableServerIsAClearError) {
    DnsUpdateSettings s;
    s.server = "127.0.0.1:1";  // nothing listens on port 1
    s.zone = "example.test";
    s.tsig_name = "acme-key";
    s.tsig_secret = kSecret;
    auto u = DnsUpdater::create(s);
    ASSERT_TRUE(u) << u.error().detail;
    auto r = u->add_txt("_acme-challenge.a.example.test", "abc");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kUnavailable);
    EXPECT_EQ(r.error().detail.find(kSecret), std::string::npos);
}

}  // namespace
}  // namespace moat::acme

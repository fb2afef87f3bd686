#!/usr/bin/env python3
"""Writes the facts fixtures of tests/unit/test_rules.c: for each shipped
rule id, RULE.NAME.json (the rule must fire) and RULE.clean.NAME.json (it
must not). Each is a facts tree shaped as docs/facts.md says the session
layer builds it for the matching pcaps/ capture (MANIFEST.md). Run from
anywhere: python3 make-fixtures.py; the JSON files are committed."""
import copy, datetime, json, os

T = 1763800000.25          # capture time (2025-11-22)
DAY = 86400
HERE = os.path.dirname(os.path.abspath(__file__))

def rfc(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

def cert(cn="server.example", issuer="CN=tlswatch test intermediate", nb=T - 10 * DAY, na=T + 355 * DAY,
         key_type="EC", bits=256, sig="ecdsa-with-SHA256", self_signed=False, san=None):
    return {"subject": "CN=" + cn, "issuer": issuer, "cn": cn, "serial": "1a2b", "sha256": "ab" * 32,
            "not_before": rfc(nb), "not_after": rfc(na), "not_before_epoch": int(nb), "not_after_epoch": int(na),
            "san": san if san is not None else [cn, "localhost"], "san_ip": ["127.0.0.1", "::1"],
            "key": "%s-%d" % (key_type, bits), "key_type": key_type, "key_bits": bits,
            "curve": "prime256v1" if key_type == "EC" else None, "sig": sig,
            "self_issued": self_signed, "self_signed": self_signed, "is_ca": False,
            "validity_days": int((na - nb) / DAY), "malformed": False}

def alert(frm, level, code, desc, after, enc=False, during=True, t=T + 0.01):
    return {"from": frm, "level": level, "code": code, "description": desc, "encrypted": enc,
            "after": after, "time": t, "during_handshake": during}

def validation(status="ok", host=True, err=None):
    return {"status": status, "error": err, "depth": 2, "trusted_root": status in ("ok", "hostname_mismatch", "expired", "not_yet_valid"),
            "chain_complete": status != "chain_incomplete", "hostname_match": host, "time_valid": status not in ("expired", "not_yet_valid"),
            "at_time": int(T), "trust_store": "root.pem", "errors": [err] if err else []}

BASE12 = {
    "flow": {"client_ip": "127.0.0.1", "server_ip": "127.0.0.1", "client_port": 40000, "server_port": 4432,
             "time": T, "midstream": False, "end_reason": "fin", "missing_toserver": 0, "missing_toclient": 0},
    "version": "TLSv1.2", "version_code": 771, "client_version": "TLSv1.2",
    "client_versions": ["TLSv1.3", "TLSv1.2"], "client_max_version_code": 772,
    "cipher": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "cipher_code": 49196, "cipher_kx": "ECDHE", "cipher_enc": "AES_GCM",
    "cipher_weakness": [], "client_ciphers": ["TLS_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
    "client_ciphers_weak_only": False, "scsv_fallback": False, "scsv_renegotiation": True,
    "group": "x25519", "dh_bits": None, "client_groups": ["x25519", "secp256r1"], "client_key_shares": ["x25519"],
    "hrr": False, "hrr_group": None, "sni": "server.example", "alpn": ["h2", "http/1.1"], "alpn_selected": "http/1.1",
    "client_extensions": ["server_name", "supported_groups", "renegotiation_info"], "server_extensions": ["renegotiation_info"],
    "client_sig_algs": ["ecdsa_secp256r1_sha256"], "reneg_info": {"client": True, "server": True},
    "heartbeat_offered": False, "early_data": {"offered": False, "accepted": False},
    "outcome": "established", "history": "CsxknGIFiFDd", "handshakes": 1, "established": True, "resumed": False,
    "resumption": {"offered": None, "accepted": False},
    "last_message": {"client": "finished", "server": "finished"}, "server_hello_seen": True,
    "server_first_bytes": None, "client_not_tls": False, "client_first_bytes": None,
    "close": {"by": "client", "how": "fin", "after": "finished"},
    "timing_ms": {"server_hello": 1.2, "finished": 3.4, "no_answer": None}, "anomalies": [],
    "alerts": [alert("server", "warning", 0, "close_notify", "finished", True, False, T + 1),
               alert("client", "warning", 0, "close_notify", "finished", True, False, T + 1.01)],
    "alert_count": 2,
    "server_cert": cert(), "client_cert": None, "chain": [cert("tlswatch test intermediate", "CN=tlswatch test root", T - 100 * DAY, T + 1000 * DAY)],
    "chain_len": 2, "server_cert_encrypted": False, "cert_request": False, "cert_request_ca_names": 0,
    "client_cert_sent": False, "client_cert_empty": False, "ocsp": {"status": None},
    "server_cert_validation": validation(), "server_cert_changed": False,
    "hello_request": False, "renegotiations": [], "renegotiation_count": 0, "renegotiation_rejected_by": None,
    "heartbeat": {"requests": 0, "responses": 0, "overflow": False, "encrypted": False},
    "encrypted": {"client_records": 3, "server_records": 4, "client_app_bytes": 100, "server_app_bytes": 200},
}

def base(**kw):
    d = copy.deepcopy(BASE12)
    for k, v in kw.items():
        d[k] = v
    d["last_alert"] = d["alerts"][-1] if d["alerts"] else None
    d["alert_count"] = len(d["alerts"])
    return d

def tls13(**kw):
    d = base(version="TLSv1.3", version_code=772, cipher="TLS_AES_256_GCM_SHA384", cipher_code=4866, cipher_kx="TLS13",
             server_cert_encrypted=True, server_cert=None, chain=[], chain_len=0, server_cert_validation=None,
             history="CsiIFDd")
    for k, v in kw.items():
        d[k] = v
    d["last_alert"] = d["alerts"][-1] if d["alerts"] else None
    d["alert_count"] = len(d["alerts"])
    return d

def failed_after_ch(alerts, **kw):
    d = dict(version=None, version_code=None, cipher=None, cipher_code=None, cipher_kx=None, cipher_enc=None,
             alerts=alerts, outcome="failed", established=False, server_hello_seen=False, server_cert=None, chain=[],
             chain_len=0, server_cert_validation=None, history="CL" if alerts else "C",
             last_message={"client": "client_hello", "server": None}, server_extensions=[], group=None,
             close={"by": "server", "how": "fin", "after": "client_hello"}, reneg_info={"client": True, "server": False},
             alpn_selected=None, encrypted={"client_records": 0, "server_records": 0, "client_app_bytes": 0, "server_app_bytes": 0})
    d.update(kw)
    return base(**d)

def client_rejects(code, desc, **kw):
    d = dict(alerts=[alert("client", "fatal", code, desc, "server_hello_done")], outcome="failed", established=False,
             close={"by": "client", "how": "fin", "after": "server_hello_done"},
             last_message={"client": "alert", "server": "server_hello_done"}, history="CsxknL")
    d.update(kw)
    return base(**d)

OK12 = base()
OK13 = tls13()
reneg_ok = {"initiator": "client", "time": T + 2, "encrypted": True, "result": "accepted",
            "evidence": "encrypted handshake record from the client after both Finished, answered by a server flight"}

F = {}
# --- renegotiation
F["renegotiation-rejected.server"] = base(
    outcome="reneg_rejected", handshakes=2, renegotiation_count=1, renegotiation_rejected_by="server",
    renegotiations=[{"initiator": "client", "time": T + 1, "encrypted": True, "result": "rejected",
                     "evidence": "packet 14: encrypted handshake record (client) after both Finished"}],
    alerts=[alert("server", "warning", 100, "no_renegotiation", "encrypted_client_hello", True, False, T + 1.01),
            alert("client", "fatal", 40, "handshake_failure", "encrypted_client_hello", True, False, T + 1.02)])
F["renegotiation-rejected.client"] = base(
    outcome="reneg_rejected", handshakes=2, renegotiation_count=1, renegotiation_rejected_by="client", hello_request=True,
    renegotiations=[{"initiator": "server", "time": T + 1, "encrypted": True, "result": "rejected",
                     "evidence": "packet 12: encrypted HelloRequest from the server"}],
    alerts=[alert("client", None, None, None, "encrypted_hello_request", True, False, T + 1.01),
            alert("server", None, None, None, "encrypted_hello_request", True, False, T + 1.02)])
F["renegotiation-rejected.clean"] = OK12
F["renegotiation-accepted.client"] = base(outcome="renegotiated", handshakes=2, renegotiation_count=1, renegotiations=[reneg_ok])
F["renegotiation-accepted.clean"] = OK12
F["server-requested-renegotiation.accepted"] = base(
    outcome="renegotiated", handshakes=2, renegotiation_count=1, hello_request=True,
    renegotiations=[dict(reneg_ok, initiator="server", evidence="encrypted HelloRequest, then the client's encrypted ClientHello")])
F["server-requested-renegotiation.clean"] = F["renegotiation-accepted.client"]
F["renegotiation-storm.flow"] = base(
    outcome="renegotiated", handshakes=6, renegotiation_count=5,
    renegotiations=[dict(reneg_ok, time=T + 1 + 0.3 * i) for i in range(5)])
F["renegotiation-storm.clean"] = base(
    outcome="renegotiated", handshakes=3, renegotiation_count=2,
    renegotiations=[dict(reneg_ok, time=T + 1 + 0.3 * i) for i in range(2)])
F["insecure-renegotiation.both"] = base(
    reneg_info={"client": False, "server": False}, scsv_renegotiation=False, outcome="renegotiated", handshakes=2,
    renegotiation_count=1, renegotiations=[reneg_ok], cert_request=True, client_cert_sent=True, client_cert_empty=True,
    client_extensions=["server_name"], server_extensions=[])
F["insecure-renegotiation.server"] = base(reneg_info={"client": True, "server": False})
F["insecure-renegotiation.clean"] = OK12
# capture picked up after the ClientHello (pcaps/midstream-no-ch, one-direction-server): the
# session layer reports reneg_info.client false, but the ClientHello was never seen
F["insecure-renegotiation.clean.midstream-no-ch"] = base(outcome="incomplete_capture", client_version=None, client_versions=[],
    sni=None, client_max_version_code=None, reneg_info={"client": False, "server": True}, scsv_renegotiation=False,
    client_extensions=[], flow=dict(BASE12["flow"], midstream=True))
F["insecure-renegotiation.clean.tls13"] = tls13(reneg_info={"client": False, "server": False}, scsv_renegotiation=False)
F["renegotiation-in-tls13.client"] = tls13(
    handshakes=2, renegotiation_count=1,
    renegotiations=[{"initiator": "client", "time": T + 2, "encrypted": False, "result": "rejected",
                     "evidence": "cleartext ClientHello after the TLS 1.3 handshake"}],
    alerts=[alert("server", "fatal", 10, "unexpected_message", "client_hello", False, False)])
F["renegotiation-in-tls13.clean"] = OK13
# --- protocol
F["version-mismatch.demo"] = failed_after_ch(
    [alert("server", "fatal", 70, "protocol_version", "client_hello")],
    client_versions=["TLSv1.2"], client_max_version_code=771)
F["version-mismatch.openssl3-internal-error"] = failed_after_ch(
    [alert("server", "fatal", 80, "internal_error", "client_hello")],
    client_version="TLSv1.0", client_versions=["TLSv1.0"], client_max_version_code=769, scsv_renegotiation=True)
F["version-mismatch.close"] = failed_after_ch(
    [], client_version="TLSv1.0", client_versions=["TLSv1.0"], client_max_version_code=769, outcome="aborted")
F["version-mismatch.fallback"] = failed_after_ch(
    [alert("server", "fatal", 86, "inappropriate_fallback", "client_hello")],
    client_versions=["TLSv1.2"], client_max_version_code=771, scsv_fallback=True)
F["version-mismatch.clean"] = OK12
F["version-mismatch.clean.tls10-established"] = base(
    version="TLSv1.0", version_code=769, client_version="TLSv1.0", client_versions=["TLSv1.0"], client_max_version_code=769,
    cipher="TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", cipher_weakness=["cbc"])
F["cipher-mismatch.tls12"] = failed_after_ch(
    [alert("server", "fatal", 40, "handshake_failure", "client_hello")],
    client_ciphers=["TLS_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_CBC_SHA"])
F["cipher-mismatch.clean"] = OK12
F["cipher-mismatch.clean.group"] = failed_after_ch(
    [alert("server", "fatal", 40, "handshake_failure", "client_hello")],
    client_versions=["TLSv1.3"], client_max_version_code=772, client_groups=["x25519"])
F["group-mismatch.tls13"] = F["cipher-mismatch.clean.group"]
F["group-mismatch.hrr"] = tls13(hrr=True, hrr_group="secp256r1", outcome="failed", established=False,
                                alerts=[alert("client", "fatal", 47, "illegal_parameter", "hello_retry_request")])
F["group-mismatch.clean"] = OK13
F["group-mismatch.clean.hrr-ok"] = tls13(hrr=True, hrr_group="secp256r1")
F["obsolete-version.tls10"] = F["version-mismatch.clean.tls10-established"]
F["obsolete-version.tls11"] = base(version="TLSv1.1", version_code=770, client_version="TLSv1.1", client_versions=["TLSv1.1"], client_max_version_code=770)
F["obsolete-version.clean"] = OK12
F["weak-cipher.tls10-cbc"] = F["obsolete-version.tls10"]
F["weak-cipher.static-rsa"] = base(cipher="TLS_RSA_WITH_AES_128_CBC_SHA", cipher_code=47, cipher_kx="RSA", cipher_enc="AES_CBC",
                                   cipher_weakness=["rsa_kx", "cbc"], server_cert=cert(key_type="RSA", bits=2048, sig="sha256WithRSAEncryption"))
F["weak-cipher.clean"] = OK12
F["weak-cipher.clean.tls12-cbc"] = base(cipher="TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", cipher_code=49162, cipher_enc="AES_CBC", cipher_weakness=["cbc"])
F["no-application-protocol.gnutls"] = failed_after_ch(
    [alert("server", "fatal", 120, "no_application_protocol", "client_hello")], alpn=["http/1.1"])
F["no-application-protocol.clean"] = OK13
F["not-tls.http-answer"] = failed_after_ch(
    [], outcome="not_tls", server_first_bytes="HTTP/1.1 400 Bad Request..", close={"by": "client", "how": "fin", "after": "client_hello"})
F["not-tls.plaintext-client"] = base(
    outcome="not_tls", client_not_tls=True, client_first_bytes="GET / HTTP/1.1..Host: x..", client_version=None, client_versions=[],
    client_max_version_code=None, version=None, version_code=None, cipher=None, server_hello_seen=False, established=False, sni=None,
    server_cert=None, chain=[], server_cert_validation=None, alerts=[], close={"by": "server", "how": "fin", "after": None})
F["not-tls.clean"] = OK12
F["heartbleed.probe"] = base(heartbeat_offered=True, heartbeat={"requests": 1, "responses": 1, "overflow": True, "encrypted": False})
F["heartbleed.clean"] = base(heartbeat_offered=True, heartbeat={"requests": 2, "responses": 2, "overflow": False, "encrypted": True})
# --- certificates
F["server-certificate-missing.anon"] = base(cipher="TLS_ECDH_anon_WITH_AES_128_CBC_SHA", cipher_kx="ECDH_anon", cipher_weakness=["anon", "cbc"],
                                            server_cert=None, chain=[], chain_len=0, server_cert_validation=None)
F["server-certificate-missing.no-cert"] = base(server_cert=None, chain=[], chain_len=0, server_cert_validation=None, outcome="failed",
                                               established=False, last_message={"client": "alert", "server": "server_hello_done"})
F["server-certificate-missing.clean"] = OK12
F["server-certificate-missing.clean.resumed"] = base(resumed=True, server_cert=None, chain=[], chain_len=0, server_cert_validation=None,
                                                     resumption={"offered": "ticket", "accepted": True}, history="CsIFiF")
F["client-certificate-missing.tls12"] = base(
    cert_request=True, cert_request_ca_names=1, client_cert_sent=True, client_cert_empty=True, outcome="failed", established=False,
    alerts=[alert("server", "fatal", 40, "handshake_failure", "finished")], close={"by": "server", "how": "fin", "after": "finished"})
F["client-certificate-missing.tls13-keylog"] = tls13(
    outcome="failed", established=False, alerts=[alert("server", "fatal", 116, "certificate_required", "finished", True)])
F["client-certificate-missing.tls13-inferred"] = tls13(
    outcome="failed", established=False, alerts=[alert("server", None, None, None, "encrypted_handshake", True)])
F["client-certificate-missing.clean"] = base(cert_request=True, client_cert_sent=True, client_cert=cert("client"), client_cert_empty=False)
F["client-certificate-missing.clean.optional"] = F["insecure-renegotiation.both"]
F["certificate-expired.rejected"] = client_rejects(45, "certificate_expired",
    server_cert=cert(nb=1577836800, na=1609459200), server_cert_validation=validation("expired", True, "certificate has expired"))
F["certificate-expired.accepted"] = base(server_cert=cert(nb=1577836800, na=1609459200), server_cert_validation=validation("expired", True, "certificate has expired"))
F["certificate-expired.tls13-alert"] = tls13(outcome="failed", established=False,
    alerts=[alert("client", "fatal", 45, "certificate_expired", "encrypted_server_flight", True)])
F["certificate-expired.clean"] = OK12
F["certificate-not-yet-valid.rejected"] = client_rejects(42, "bad_certificate",
    server_cert=cert(nb=4070908800, na=4102444800), server_cert_validation=validation("not_yet_valid", True, "certificate is not yet valid"))
F["certificate-not-yet-valid.clean"] = OK12
F["client-clock-skew.expired"] = client_rejects(45, "certificate_expired")
F["client-clock-skew.bad-certificate"] = client_rejects(42, "bad_certificate")
F["client-clock-skew.clean"] = F["certificate-expired.rejected"]
F["client-clock-skew.clean.hostname"] = client_rejects(42, "bad_certificate", sni="other.example",
    server_cert_validation=validation("hostname_mismatch", False))
# pcaps/sni-missing: no SNI, default certificate for another name, client bad_certificate (42)
F["client-clock-skew.clean.no-sni"] = client_rejects(42, "bad_certificate", sni=None,
    server_cert=cert("default.example"), server_cert_validation=validation("ok", None))
F["certificate-self-signed.rejected"] = client_rejects(48, "unknown_ca", server_cert=cert(issuer="CN=server.example", self_signed=True),
    chain=[], chain_len=1, server_cert_validation=validation("self_signed", True, "self-signed certificate"))
F["certificate-self-signed.clean"] = OK12
F["certificate-unknown-ca.complete-chain"] = client_rejects(48, "unknown_ca",
    server_cert=cert(issuer="CN=rogue intermediate"),
    chain=[cert("rogue intermediate", "CN=rogue root"), cert("rogue root", "CN=rogue root", self_signed=True)], chain_len=3,
    server_cert_validation=validation("unknown_ca", True, "self-signed certificate in certificate chain"))
F["certificate-unknown-ca.alert-only"] = client_rejects(48, "unknown_ca", server_cert_validation=None)
F["certificate-unknown-ca.clean"] = OK12
F["certificate-unknown-ca.clean.incomplete"] = None  # filled below
F["certificate-chain-incomplete.leaf-only"] = client_rejects(48, "unknown_ca", chain=[], chain_len=1,
    server_cert_validation=validation("chain_incomplete", True, "unable to get local issuer certificate"))
F["certificate-unknown-ca.clean.incomplete"] = F["certificate-chain-incomplete.leaf-only"]
F["certificate-chain-incomplete.clean"] = OK12
F["certificate-hostname-mismatch.rejected"] = F["client-clock-skew.clean.hostname"]
F["certificate-hostname-mismatch.clean"] = OK12
F["certificate-hostname-mismatch.clean.no-sni"] = base(sni=None, server_cert_validation=validation("ok", None))
F["certificate-revoked.alert"] = client_rejects(44, "certificate_revoked")
F["certificate-revoked.ocsp"] = base(ocsp={"status": "revoked"})
F["certificate-revoked.clean"] = base(ocsp={"status": "good"})
F["certificate-weak.rsa1024"] = base(cipher="TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", server_cert=cert(key_type="RSA", bits=1024, sig="sha256WithRSAEncryption"))
F["certificate-weak.sha1"] = base(server_cert=cert(sig="ecdsa-with-SHA1"))
F["certificate-weak.validity"] = base(server_cert=cert(nb=T - 10 * DAY, na=T + 800 * DAY))
F["certificate-weak.clean"] = OK12
F["certificate-expiring-soon.ten-days"] = base(server_cert=cert(nb=T - 80 * DAY, na=T + 10 * DAY))
F["certificate-expiring-soon.clean"] = OK12
F["certificate-expiring-soon.clean.expired"] = F["certificate-expired.accepted"]
F["certificate-changed.new-issuer"] = base(server_cert_changed=True, server_cert_previous_sha256="cd" * 32,
                                           server_cert_previous_issuer="/CN=Corporate Proxy CA")
F["certificate-changed.clean"] = OK12
# --- sni
F["sni-missing.default-cert"] = client_rejects(42, "bad_certificate", sni=None, server_cert=cert("default.example"),
    server_cert_validation=validation("ok", None), client_extensions=["supported_groups"])
F["sni-missing.clean"] = base(sni=None, server_cert_validation=validation("ok", None))
F["sni-unrecognized.fatal"] = failed_after_ch([alert("server", "fatal", 112, "unrecognized_name", "client_hello")], sni="b.example")
F["sni-unrecognized.clean"] = OK12
# --- flow
F["handshake-aborted.rst"] = failed_after_ch([], outcome="aborted", close={"by": "server", "how": "rst", "after": "client_hello"})
F["handshake-aborted.fin-then-alert"] = failed_after_ch(
    [alert("client", "fatal", 50, "decode_error", "client_hello")], outcome="aborted",
    close={"by": "server", "how": "fin", "after": "client_hello"})
F["handshake-aborted.clean"] = OK12
F["handshake-timeout.silence"] = failed_after_ch([], outcome="timeout", timing_ms={"server_hello": None, "finished": None, "no_answer": 3012.5},
                                                 close={"by": "client", "how": "fin", "after": "client_hello"})
F["handshake-timeout.clean"] = OK12
_late = {"server_hello": 12063.0, "finished": 12068.9, "no_answer": None, "first_answer": 12063.0, "timeout": 10000.0}
F["slow-handshake.late-answer"] = base(late_answer=True, timing_ms=_late)
F["slow-handshake.slow-alert"] = failed_after_ch([alert("server", "fatal", 40, "handshake_failure", "client_hello", t=T + 6.5)],
                                                 timing_ms={"server_hello": None, "finished": None, "no_answer": None,
                                                            "first_answer": 6500.0, "timeout": 10000.0})
F["slow-handshake.clean"] = base(timing_ms=dict(_late, server_hello=1.2, finished=3.4, first_answer=1.2))
F["slow-handshake.clean.timeout"] = failed_after_ch([], outcome="timeout", timing_ms={"server_hello": None, "finished": None, "no_answer": 12500.0,
                                                                                     "first_answer": None, "timeout": 10000.0},
                                                    close={"by": "client", "how": "fin", "after": "client_hello"})
F["incomplete-capture.truncated"] = base(outcome="incomplete_capture", established=False, close={"by": None, "how": None, "after": "finished"},
                                         flow=dict(BASE12["flow"], end_reason="end_of_capture"))
F["incomplete-capture.midstream-no-ch"] = base(outcome="incomplete_capture", client_version=None, client_versions=[], sni=None,
                                               client_max_version_code=None, flow=dict(BASE12["flow"], midstream=True))
F["incomplete-capture.one-direction"] = failed_after_ch([], outcome="incomplete_capture",
                                                        flow=dict(BASE12["flow"], missing_toclient=2900))
F["incomplete-capture.clean"] = OK12
F["incomplete-capture.clean.midstream-with-ch"] = base(flow=dict(BASE12["flow"], midstream=True))
# --- alerts
F["fatal-alert.decrypt-error"] = base(outcome="failed", established=False,
                                      alerts=[alert("client", "fatal", 51, "decrypt_error", "server_key_exchange")])
F["fatal-alert.encrypted"] = tls13(outcome="failed", established=False,
                                   alerts=[alert("client", None, None, None, "encrypted_server_flight", True)])
F["fatal-alert.clean"] = OK12
F["fatal-alert.clean.explained"] = F["version-mismatch.demo"]

for name, facts in F.items():
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=False)
        f.write("\n")
print(len(F), "fixtures")

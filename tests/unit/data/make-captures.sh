#!/bin/sh
# Regenerates the real-stack captures behind the unit-test fixtures:
# OpenSSL s_server/s_client on 127.0.0.1 inside a private network namespace
# (run as root: unshare -n), captured with tcpdump, key log kept so tshark
# can decrypt the TLS1.3 / post-CCS messages. Output: OUT/lo.pcap, OUT/keys.
# Usage: sh make-captures.sh OUTDIR
set -eu
OUT=${1:?outdir}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ "${IN_NS:-}" != 1 ]; then
    exec unshare -n env IN_NS=1 sh "$0" "$OUT"
fi
cd "$OUT"
ip link set lo up
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
    -subj "/CN=TLSWatch Test CA/O=TLSWatch" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj "/CN=test.example/O=TLSWatch Test" 2>/dev/null
printf 'subjectAltName=DNS:test.example,DNS:www.test.example,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in rsa.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile san.ext -out rsa.crt 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ec.key -out ec.crt \
    -days 365 -subj "/CN=ec.example" 2>/dev/null
cat rsa.crt ca.crt > chain.pem
# OCSP response "good" for rsa.crt, signed by the CA.
printf 'V\t300101000000Z\t\t%s\tunknown\t/CN=test.example/O=TLSWatch Test\n' \
    "$(openssl x509 -in rsa.crt -noout -serial | cut -d= -f2)" > index.txt
openssl ocsp -index index.txt -CA ca.crt -rsigner ca.crt -rkey ca.key -issuer ca.crt -cert rsa.crt \
    -respout ocsp.der -ndays 7 >/dev/null 2>&1 || true
: > keys
tcpdump -i lo -U -w lo.pcap 'tcp portrange 4400-4499' 2>/dev/null &
TD=$!
sleep 1
port=4400
run() { # run "server args" "client args"
    port=$((port + 1))
    # shellcheck disable=SC2086
    timeout 10 openssl s_server -accept "$port" -cert rsa.crt -key rsa.key -cert_chain chain.pem -quiet $1 \
        </dev/null >/dev/null 2>&1 &
    sp=$!
    sleep 0.4
    # shellcheck disable=SC2086
    (sleep 0.5; printf 'Q\n') | timeout 5 openssl s_client -connect "127.0.0.1:$port" -keylogfile keys.tmp $2 \
        >/dev/null 2>&1 || true
    cat keys.tmp >> keys 2>/dev/null || true
    rm -f keys.tmp
    kill "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
}
# 4401 TLS1.3, SNI, ALPN, session tickets
run "-alpn h2" "-servername test.example -alpn h2,http/1.1"
# 4402 TLS1.2 ECDHE-RSA-GCM, OCSP stapling, ALPN
run "-tls1_2 -status_file ocsp.der -alpn http/1.1" "-tls1_2 -status -servername test.example -alpn http/1.1"
# 4403 TLS1.2 DHE-RSA-CBC (SKE with a DH prime)
run "-tls1_2 -cipher DHE-RSA-AES256-SHA" "-tls1_2 -cipher DHE-RSA-AES256-SHA"
# 4404 TLS1.2 client certificate requested and sent
run "-tls1_2 -Verify 1 -CAfile ca.crt" "-tls1_2 -cert ec.crt -key ec.key"
# 4405 TLS1.3 HelloRetryRequest (server insists on P-256)
run "-groups P-256" "-groups X25519:P-256"
# 4406 version failure: TLS1.3-only client, TLS1.2-only server
run "-tls1_2" "-tls1_3"
# 4407 TLS1.0 static RSA kx (weak)
run "-tls1 -cipher AES128-SHA:@SECLEVEL=0" "-tls1 -cipher AES128-SHA:@SECLEVEL=0"
# 4408 TLS1.3 with client certificate (CertificateRequest 1.3)
run "-Verify 1 -CAfile ca.crt" "-cert ec.crt -key ec.key"
# 4409 no common cipher: handshake_failure
run "-tls1_2 -cipher AES128-SHA" "-tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384"
# 4410 TLS1.2 ECDHE-ECDSA with EC server key and x25519
port=4409
timeout 10 openssl s_server -accept 4410 -cert ec.crt -key ec.key -quiet -tls1_2 </dev/null >/dev/null 2>&1 &
sp=$!; sleep 0.4
(sleep 0.5; printf 'Q\n') | timeout 5 openssl s_client -connect 127.0.0.1:4410 -keylogfile keys.tmp -tls1_2 >/dev/null 2>&1 || true
cat keys.tmp >> keys 2>/dev/null || true; kill $sp 2>/dev/null || true; wait $sp 2>/dev/null || true
# 4411 TLS1.3 KeyUpdate from the client (s_client command "K")
timeout 10 openssl s_server -accept 4411 -cert rsa.crt -key rsa.key -quiet </dev/null >/dev/null 2>&1 &
sp=$!; sleep 0.4
(sleep 0.5; printf 'K\n'; sleep 0.5; printf 'Q\n') | timeout 5 openssl s_client -connect 127.0.0.1:4411 -keylogfile keys.tmp >/dev/null 2>&1 || true
cat keys.tmp >> keys 2>/dev/null || true; kill $sp 2>/dev/null || true; wait $sp 2>/dev/null || true
# 4412 TLS1.2 server-initiated renegotiation: HelloRequest (s_server command "r")
(sleep 1; printf 'r\n'; sleep 2) | timeout 10 openssl s_server -accept 4412 -cert rsa.crt -key rsa.key -tls1_2 >/dev/null 2>&1 &
sp=$!; sleep 0.4
(sleep 2; printf 'Q\n') | timeout 5 openssl s_client -connect 127.0.0.1:4412 -keylogfile keys.tmp -tls1_2 >/dev/null 2>&1 || true
cat keys.tmp >> keys 2>/dev/null || true; kill $sp 2>/dev/null || true; wait $sp 2>/dev/null || true
# 4413/4414 TLS1.3 0-RTT: ticket from the first connection, early data + EndOfEarlyData in the second
printf 'early hello\n' > early.txt
timeout 12 openssl s_server -accept 4413 -cert rsa.crt -key rsa.key -early_data -quiet </dev/null >/dev/null 2>&1 &
sp=$!; sleep 0.4
(sleep 0.5; printf 'Q\n') | timeout 5 openssl s_client -connect 127.0.0.1:4413 -sess_out sess.pem -keylogfile keys.tmp >/dev/null 2>&1 || true
cat keys.tmp >> keys 2>/dev/null || true; rm -f keys.tmp
(sleep 0.5; printf 'Q\n') | timeout 5 openssl s_client -connect 127.0.0.1:4413 -sess_in sess.pem -early_data early.txt -keylogfile keys.tmp >/dev/null 2>&1 || true
cat keys.tmp >> keys 2>/dev/null || true; kill $sp 2>/dev/null || true; wait $sp 2>/dev/null || true
sleep 1
kill "$TD"
wait "$TD" 2>/dev/null || true
ls -l lo.pcap

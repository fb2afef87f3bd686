# tests/gen/scenarios.sh -- sourced by make-pcaps.sh (bash, inside unshare -n).
# Uses: $W (work dir), $RAW (raw captures), $C (certificates), $OUT, $PY, $GEN_DIR.
#
# A scenario sc_NAME writes $RAW/NAME.pcap (+ $RAW/NAME.keylog) from real
# stacks on loopback. Every process runs under `timeout`; every wait is a
# bounded poll. Each scenario has its own server port (4431-4499) and the
# capture filter is that port, so nothing else ends up in the file.

set -m   # background jobs get their own process group (kill -- -PGID)

ALL_SCENARIOS="tls13-ok tls12-ok ipv6-tls13 demo offload-checksums reused-4tuple
 long-appdata tls12-resume-sessionid tls12-resume-ticket tls13-resume-psk tls13-0rtt
 tls13-hrr tls13-group-mismatch tls13-cipher-mismatch tls13-group-mismatch-x448 tls12-client-auth tls12-client-cert-missing
 tls13-client-cert-missing tls12-reneg-accepted tls12-reneg-rejected tls12-server-reneg
 tls12-server-reneg-refused tls12-reneg-storm tls12-insecure-reneg version-mismatch
 version-old-client cipher-mismatch tls10-obsolete tls11-obsolete weak-cipher unknown-ca
 self-signed expired-cert expired-cert-accepted not-yet-valid chain-incomplete
 hostname-mismatch sni-unrecognized sni-missing alpn-mismatch weak-rsa-1024 weak-rsa-1024-rejected cert-changed tls13-short-answer sha1-cert
 abort-rst abort-fin timeout slow-server not-tls-http plaintext-to-tls gnutls-tls13
 anon-dh client-clock-skew cert-revoked
 tls12-cbc-reneg tls12-cbc-etm-reneg tls12-ccm8-reneg tls13-ccm tls13-ccm8-keyupdate
 ovpn-ok ovpn-tls-auth ovpn-client-cert-rejected ovpn-tls-crypt"

S_OK() { echo "-cert $C/server.crt -key $C/server.key -cert_chain $C/int.crt"; }
VERIFY() { echo "-CAfile $C/ca.crt -verify_return_error -verify_hostname server.example"; }
OLD="DEFAULT:@SECLEVEL=0"

# ---------------------------------------------------------------- helpers

# cap_start NAME [FILTER]: tcpdump on lo into $RAW/NAME.pcap, wait until ready.
cap_start() {
    CAP=$1
    local filter=${2:-"tcp port $PORT"}
    rm -f "$RAW/$CAP.pcap" "$RAW/$CAP.keylog"
    timeout 60 tcpdump -i lo -U --immediate-mode -n -s 0 -Z root -w "$RAW/$CAP.pcap" "$filter" \
        > "$W/log/$CAP.tcpdump" 2>&1 &
    CAP_PID=$!
    local i
    for i in $(seq 50); do
        grep -q 'listening on' "$W/log/$CAP.tcpdump" 2>/dev/null && [ -s "$RAW/$CAP.pcap" ] && return 0
        sleep 0.1
    done
    echo "tcpdump for $CAP did not start" >&2
    return 1
}

# cap_stop: SIGINT tcpdump (flushes), wait for it.
cap_stop() {
    sleep 0.3
    kill -INT "$CAP_PID" 2>/dev/null
    local i
    for i in $(seq 50); do
        kill -0 "$CAP_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$CAP_PID" 2>/dev/null
    wait "$CAP_PID" 2>/dev/null
    stop_servers
}

wait_port() {
    local i
    for i in $(seq 100); do
        [ -n "$(ss -Hltn "sport = :$1")" ] && return 0
        sleep 0.05
    done
    echo "port $1 never listened ($CAP)" >&2
    return 1
}

# srv PORT CMD...: start a server in the background (cwd $W/www, stdin from
# $SRV_IN, a shell snippet, default a bounded sleep), wait until it listens.
SRV_PIDS=""
srv() {
    local port=$1
    shift
    (
        cd "$W/www" || exit 1
        eval "${SRV_IN:-sleep 15}" | exec timeout 20 "$@"
    ) >> "$W/log/$CAP.srv" 2>&1 &
    SRV_PIDS="$SRV_PIDS $!"
    SRV_IN=""
    wait_port "$port"
}

stop_servers() {
    local p
    for p in $SRV_PIDS; do
        # let servers that exit by themselves (-naccept) do so
        local i
        for i in $(seq 10); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        kill -TERM -- "-$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    SRV_PIDS=""
}

# s_srv PORT ARGS...: openssl s_server, one connection, quiet.
s_srv() {
    local port=$1
    shift
    srv "$port" openssl s_server -accept "$port" -naccept "${NACC:-1}" -keylogfile "$RAW/$CAP.srv.keylog" "$@"
    NACC=1
}

# get ARGS...: one "GET /hello.txt" with s_client (to an s_server -WWW),
# waits for the server to close. Host ${HOST:-127.0.0.1}, port $PORT.
get() {
    printf 'GET /hello.txt HTTP/1.0\r\n\r\n' |
        timeout 10 openssl s_client -connect "${HOST:-127.0.0.1}:$PORT" -keylogfile "$RAW/$CAP.keylog" \
            -ign_eof "$@" >> "$W/log/$CAP.cli" 2>&1
}

# cli STDIN-SNIPPET ARGS...: s_client with scripted stdin (commands R/Q).
cli() {
    local in=$1
    shift
    eval "$in" | timeout 15 openssl s_client -connect "${HOST:-127.0.0.1}:$PORT" \
        -keylogfile "$RAW/$CAP.keylog" "$@" >> "$W/log/$CAP.cli" 2>&1
}

# ---------------------------------------------------------------- foundation

sc_tls13-ok() {
    PORT=4431; cap_start tls13-ok
    s_srv $PORT -quiet -WWW $(S_OK) -alpn http/1.1
    get -tls1_3 -servername server.example -alpn h2,http/1.1 $(VERIFY)
    cap_stop
}

sc_tls12-ok() {
    PORT=4432; cap_start tls12-ok
    s_srv $PORT -quiet -WWW $(S_OK) -alpn http/1.1
    get -tls1_2 -servername server.example -alpn h2,http/1.1 $(VERIFY)
    cap_stop
}

sc_ipv6-tls13() {
    PORT=4433; cap_start ipv6-tls13
    s_srv $PORT -6 -quiet -WWW $(S_OK) -alpn http/1.1
    HOST="[::1]" get -tls1_3 -servername server.example -alpn h2,http/1.1 $(VERIFY)
    cap_stop
}

sc_demo() {
    PORT=4434; cap_start demo "tcp portrange 4434-4436"
    s_srv 4434 -quiet -WWW $(S_OK)
    get -tls1_3 -servername server.example $(VERIFY)
    s_srv 4435 -quiet -WWW $(S_OK)
    PORT=4435 get -tls1_2 -servername server.example $(VERIFY)
    s_srv 4436 -quiet -WWW -tls1_3 $(S_OK)
    PORT=4436 get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_offload-checksums() {
    PORT=4437; cap_start offload-checksums
    s_srv $PORT -quiet -WWW $(S_OK)
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_reused-4tuple() {
    PORT=4438; cap_start reused-4tuple
    NACC=2 s_srv $PORT -quiet -WWW -tls1_2 $(S_OK)
    timeout 20 $PY "$GEN_DIR/peers.py" reuse-client $PORT 40438 "$C/ca.crt" "$RAW/$CAP.keylog" \
        >> "$W/log/$CAP.cli" 2>&1
    cap_stop
}

# a TLS 1.2 connection with ~12 application-data exchanges (source of midstream-appdata)
sc_long-appdata() {
    PORT=4439; cap_start long-appdata
    s_srv $PORT -quiet -rev $(S_OK)
    cli 'sleep 0.3; for i in $(seq 12); do echo "line $i of a longer conversation"; sleep 0.05; done; sleep 0.3' \
        -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

# ---------------------------------------------------------------- resumption, 0-RTT, HRR

sc_tls12-resume-sessionid() {
    PORT=4440; cap_start tls12-resume-sessionid
    NACC=2 s_srv $PORT -quiet -WWW -no_ticket $(S_OK)
    get -tls1_2 -no_ticket -servername server.example $(VERIFY) -sess_out "$W/sess-4440"
    get -tls1_2 -no_ticket -servername server.example $(VERIFY) -sess_in "$W/sess-4440"
    cap_stop
}

sc_tls12-resume-ticket() {
    PORT=4441; cap_start tls12-resume-ticket
    NACC=2 s_srv $PORT -quiet -WWW $(S_OK)
    get -tls1_2 -servername server.example $(VERIFY) -sess_out "$W/sess-4441"
    get -tls1_2 -servername server.example $(VERIFY) -sess_in "$W/sess-4441"
    cap_stop
}

sc_tls13-resume-psk() {
    PORT=4442; cap_start tls13-resume-psk
    NACC=2 s_srv $PORT -quiet -WWW $(S_OK)
    get -tls1_3 -servername server.example $(VERIFY) -sess_out "$W/sess-4442"
    get -tls1_3 -servername server.example $(VERIFY) -sess_in "$W/sess-4442"
    cap_stop
}

sc_tls13-0rtt() {
    PORT=4443; cap_start tls13-0rtt
    printf 'GET /early HTTP/1.0\r\n\r\n' > "$W/early.txt"
    NACC=2 s_srv $PORT -quiet -early_data -max_early_data 16384 $(S_OK)
    cli 'echo "first connection"; sleep 0.5' -tls1_3 -servername server.example $(VERIFY) -sess_out "$W/sess-4443"
    cli 'echo "second connection"; sleep 0.5' -tls1_3 -servername server.example $(VERIFY) \
        -sess_in "$W/sess-4443" -early_data "$W/early.txt"
    cap_stop
}

sc_tls13-hrr() {
    PORT=4444; cap_start tls13-hrr
    s_srv $PORT -quiet -WWW -groups P-256 $(S_OK)
    get -tls1_3 -groups X25519:P-256 -servername server.example $(VERIFY)
    cap_stop
}

sc_tls13-group-mismatch() {
    PORT=4445; cap_start tls13-group-mismatch
    s_srv $PORT -quiet -WWW -tls1_3 -groups P-256 $(S_OK)
    get -tls1_3 -groups X25519 -servername server.example $(VERIFY)
    cap_stop
}

# RFC 8446 9.1: TLS_AES_128_GCM_SHA256 and secp256r1 are mandatory. A client
# without the mandatory suite points at the suites, one with neither P-256
# nor X25519 at the groups.
sc_tls13-cipher-mismatch() {
    PORT=4486; cap_start tls13-cipher-mismatch
    s_srv $PORT -quiet -WWW -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 $(S_OK)
    get -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -servername server.example $(VERIFY)
    cap_stop
}

sc_tls13-group-mismatch-x448() {
    PORT=4487; cap_start tls13-group-mismatch-x448
    s_srv $PORT -quiet -WWW -tls1_3 -groups P-256:X25519 $(S_OK)
    get -tls1_3 -groups X448 -servername server.example $(VERIFY)
    cap_stop
}

# ---------------------------------------------------------------- client certificates

sc_tls12-client-auth() {
    PORT=4446; cap_start tls12-client-auth
    s_srv $PORT -quiet -WWW -Verify 1 -CAfile "$C/ca.crt" $(S_OK)
    get -tls1_2 -servername server.example $(VERIFY) -cert "$C/client.crt" -key "$C/client.key" -cert_chain "$C/int.crt"
    cap_stop
}

sc_tls12-client-cert-missing() {
    PORT=4447; cap_start tls12-client-cert-missing
    s_srv $PORT -quiet -WWW -Verify 1 -CAfile "$C/ca.crt" $(S_OK)
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_tls13-client-cert-missing() {
    PORT=4448; cap_start tls13-client-cert-missing
    s_srv $PORT -quiet -WWW -Verify 1 -CAfile "$C/ca.crt" $(S_OK)
    get -tls1_3 -servername server.example $(VERIFY)
    cap_stop
}

# ---------------------------------------------------------------- renegotiation

sc_tls12-reneg-accepted() {
    PORT=4450; cap_start tls12-reneg-accepted
    s_srv $PORT -quiet -rev -client_renegotiation $(S_OK)
    cli 'sleep 0.3; echo hello; sleep 0.3; echo R; sleep 0.5; echo after renegotiation; sleep 0.3' \
        -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_tls12-reneg-rejected() {
    PORT=4451; cap_start tls12-reneg-rejected
    s_srv $PORT -quiet -rev -no_renegotiation $(S_OK)
    cli 'sleep 0.3; echo hello; sleep 0.3; echo R; sleep 0.8' \
        -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_tls12-server-reneg() {
    PORT=4452; cap_start tls12-server-reneg
    SRV_IN='sleep 1; echo r; sleep 3' s_srv $PORT $(S_OK)
    cli 'sleep 0.3; echo hello; sleep 2' -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_tls12-server-reneg-refused() {
    PORT=4453; cap_start tls12-server-reneg-refused
    SRV_IN='sleep 1; echo r; sleep 1.2' s_srv $PORT $(S_OK)
    cli 'sleep 0.3; echo hello; sleep 2' -tls1_2 -no_renegotiation -servername server.example $(VERIFY)
    cap_stop
}

sc_tls12-reneg-storm() {
    PORT=4454; cap_start tls12-reneg-storm
    s_srv $PORT -quiet -rev -client_renegotiation $(S_OK)
    cli 'sleep 0.3; for i in 1 2 3 4 5 6; do echo R; sleep 0.3; done; echo done; sleep 0.3' \
        -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

# gnutls can switch RFC 5746 off completely (%DISABLE_SAFE_RENEGOTIATION):
# neither renegotiation_info nor the SCSV is sent; the client then rehandshakes.
sc_tls12-insecure-reneg() {
    PORT=4455; cap_start tls12-insecure-reneg
    local prio="NORMAL:-VERS-ALL:+VERS-TLS1.2:%DISABLE_SAFE_RENEGOTIATION"
    SSLKEYLOGFILE="$RAW/$CAP.srv.keylog" srv $PORT gnutls-serv -p $PORT --echo --priority "$prio" \
        --x509certfile "$C/server-chain.pem" --x509keyfile "$C/server.key"
    (echo hello; sleep 1) | SSLKEYLOGFILE="$RAW/$CAP.keylog" timeout 10 gnutls-cli -p $PORT 127.0.0.1 \
        --priority "$prio" --rehandshake --x509cafile "$C/ca.crt" --sni-hostname server.example \
        --verify-hostname server.example >> "$W/log/$CAP.cli" 2>&1
    cap_stop
}

# ---------------------------------------------------------------- versions and ciphers

sc_version-mismatch() {
    PORT=4460; cap_start version-mismatch
    s_srv $PORT -quiet -WWW -tls1_3 $(S_OK)
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_version-old-client() {
    PORT=4461; cap_start version-old-client
    s_srv $PORT -quiet -WWW $(S_OK)
    get -tls1 -cipher "$OLD" -servername server.example $(VERIFY)
    cap_stop
}

sc_cipher-mismatch() {
    PORT=4462; cap_start cipher-mismatch
    s_srv $PORT -quiet -WWW -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 $(S_OK)
    get -tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA -servername server.example $(VERIFY)
    cap_stop
}

sc_tls10-obsolete() {
    PORT=4463; cap_start tls10-obsolete
    s_srv $PORT -quiet -WWW -tls1 -cipher "$OLD" $(S_OK)
    get -tls1 -cipher "$OLD" -servername server.example -CAfile "$C/ca.crt"
    cap_stop
}

sc_tls11-obsolete() {
    PORT=4464; cap_start tls11-obsolete
    s_srv $PORT -quiet -WWW -tls1_1 -cipher "$OLD" $(S_OK)
    get -tls1_1 -cipher "$OLD" -servername server.example -CAfile "$C/ca.crt"
    cap_stop
}

sc_weak-cipher() {
    PORT=4465; cap_start weak-cipher
    s_srv $PORT -quiet -WWW -tls1_2 -cipher AES128-SHA -cert "$C/rsa2048.crt" -key "$C/rsa2048.key" -cert_chain "$C/int.crt"
    get -tls1_2 -cipher AES128-SHA -servername server.example $(VERIFY)
    cap_stop
}

# ---------------------------------------------------------------- certificates

sc_unknown-ca() {
    PORT=4466; cap_start unknown-ca
    # the whole chain up to the untrusted root is sent: complete, but not trusted
    s_srv $PORT -quiet -WWW -cert "$C/rogue-leaf.crt" -key "$C/rogue-leaf.key" -cert_chain "$C/rogue.crt"
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_self-signed() {
    PORT=4467; cap_start self-signed
    s_srv $PORT -quiet -WWW -cert "$C/selfsigned.crt" -key "$C/selfsigned.key"
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_expired-cert() {
    PORT=4468; cap_start expired-cert
    s_srv $PORT -quiet -WWW -cert "$C/expired.crt" -key "$C/expired.key" -cert_chain "$C/int.crt"
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_expired-cert-accepted() {
    PORT=4469; cap_start expired-cert-accepted
    s_srv $PORT -quiet -WWW -cert "$C/expired.crt" -key "$C/expired.key" -cert_chain "$C/int.crt"
    get -tls1_2 -servername server.example
    cap_stop
}

sc_not-yet-valid() {
    PORT=4470; cap_start not-yet-valid
    s_srv $PORT -quiet -WWW -cert "$C/notyet.crt" -key "$C/notyet.key" -cert_chain "$C/int.crt"
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_chain-incomplete() {
    PORT=4471; cap_start chain-incomplete
    s_srv $PORT -quiet -WWW -cert "$C/server.crt" -key "$C/server.key"
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_hostname-mismatch() {
    PORT=4472; cap_start hostname-mismatch
    s_srv $PORT -quiet -WWW $(S_OK)
    get -tls1_2 -servername other.example -CAfile "$C/ca.crt" -verify_return_error -verify_hostname other.example
    cap_stop
}

sc_sni-unrecognized() {
    PORT=4473; cap_start sni-unrecognized
    s_srv $PORT -quiet -WWW $(S_OK) -servername a.example -servername_fatal \
        -cert2 "$C/server.crt" -key2 "$C/server.key"
    get -tls1_2 -servername b.example -CAfile "$C/ca.crt"
    cap_stop
}

# name-based virtual hosting: server.example only with SNI; without SNI the
# default certificate (default.example) comes back and fails verification.
sc_sni-missing() {
    PORT=4474; cap_start sni-missing
    s_srv $PORT -quiet -WWW -cert "$C/default.crt" -key "$C/default.key" -cert_chain "$C/int.crt" \
        -servername server.example -cert2 "$C/server.crt" -key2 "$C/server.key"
    get -tls1_2 -noservername $(VERIFY)
    cap_stop
}

sc_alpn-mismatch() {
    PORT=4475; cap_start alpn-mismatch
    SSLKEYLOGFILE="$RAW/$CAP.srv.keylog" srv $PORT gnutls-serv -p $PORT --http --alpn h2 --alpn-fatal \
        --x509certfile "$C/server-chain.pem" --x509keyfile "$C/server.key"
    (printf 'GET / HTTP/1.0\r\n\r\n'; sleep 0.5) | SSLKEYLOGFILE="$RAW/$CAP.keylog" timeout 10 gnutls-cli \
        -p $PORT 127.0.0.1 --alpn http/1.1 --x509cafile "$C/ca.crt" --sni-hostname server.example \
        --verify-hostname server.example >> "$W/log/$CAP.cli" 2>&1
    cap_stop
}

sc_weak-rsa-1024() {
    PORT=4476; cap_start weak-rsa-1024
    s_srv $PORT -quiet -WWW -tls1_2 -cipher "$OLD" -cert "$C/rsa1024.crt" -key "$C/rsa1024.key" -cert_chain "$C/int.crt"
    get -tls1_2 -cipher "$OLD" -servername server.example -CAfile "$C/ca.crt"
    cap_stop
}

# the same RSA-1024 server, a client at OpenSSL's default security level:
# it refuses the key (alert 42 bad_certificate) although its clock is right
sc_weak-rsa-1024-rejected() {
    PORT=4488; cap_start weak-rsa-1024-rejected
    s_srv $PORT -quiet -WWW -tls1_2 -cipher "$OLD" -cert "$C/rsa1024.crt" -key "$C/rsa1024.key" -cert_chain "$C/int.crt"
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

# one server address, port and name, three certificates in turn: the
# trusted leaf, another leaf from the same intermediate (rotation), a leaf
# from a root nobody trusts (what an intercepting proxy shows)
sc_cert-changed() {
    PORT=4489; cap_start cert-changed
    s_srv $PORT -quiet -WWW -tls1_2 $(S_OK)
    get -tls1_2 -servername server.example -CAfile "$C/ca.crt"
    s_srv $PORT -quiet -WWW -tls1_2 -cert "$C/rsa2048.crt" -key "$C/rsa2048.key" -cert_chain "$C/int.crt"
    get -tls1_2 -servername server.example -CAfile "$C/ca.crt"
    s_srv $PORT -quiet -WWW -tls1_2 -cert "$C/rogue-leaf.crt" -key "$C/rogue-leaf.key"
    get -tls1_2 -servername server.example -CAfile "$C/ca.crt"
    cap_stop
}

# a TLS 1.3 server without session tickets whose first answer is 3 bytes:
# its first record after the client's Finished is alert-sized (20 bytes);
# the client then sends a line and closes first (close_notify, FIN)
sc_tls13-short-answer() {
    PORT=4490; cap_start tls13-short-answer
    SRV_IN="sleep 0.8; printf 'ok\\n'; sleep 3"
    s_srv $PORT -quiet -tls1_3 -num_tickets 0 $(S_OK)
    cli "sleep 1.6; printf 'bye\\n'; sleep 0.5" -tls1_3 -servername server.example $(VERIFY)
    cap_stop
}

sc_sha1-cert() {
    PORT=4477; cap_start sha1-cert
    s_srv $PORT -quiet -WWW -tls1_2 -cipher "$OLD" -cert "$C/sha1.crt" -key "$C/sha1.key" -cert_chain "$C/int.crt"
    get -tls1_2 -cipher "$OLD" -servername server.example -CAfile "$C/ca.crt"
    cap_stop
}

# anonymous DH: the server has no certificate at all (s_server -nocert); the
# suite ADH-AES128-SHA (0x0034) is in this OpenSSL 3 build, below SECLEVEL 1
sc_anon-dh() {
    PORT=4456; cap_start anon-dh
    s_srv $PORT -quiet -WWW -nocert -tls1_2 -cipher "ADH-AES128-SHA:@SECLEVEL=0"
    get -tls1_2 -cipher "ADH-AES128-SHA:@SECLEVEL=0" -servername server.example
    cap_stop
}

# the normal, currently valid chain; the client verifies as if it were two
# years later (-attime): the leaf (365 days) looks expired to it, the
# intermediate and root (3000/3650 days) do not -> certificate_expired (45)
sc_client-clock-skew() {
    PORT=4478; cap_start client-clock-skew
    s_srv $PORT -quiet -WWW $(S_OK)
    get -tls1_2 -servername server.example $(VERIFY) -attime $(( $(date +%s) + 2 * 365 * 86400 ))
    cap_stop
}

# a valid leaf the intermediate has revoked; the client checks the leaf against
# the intermediate's CRL -> certificate_revoked (44)
sc_cert-revoked() {
    PORT=4479; cap_start cert-revoked
    s_srv $PORT -quiet -WWW -cert "$C/revoked.crt" -key "$C/revoked.key" -cert_chain "$C/int.crt"
    get -tls1_2 -servername server.example $(VERIFY) -CRL "$C/int-crl.pem" -crl_check
    cap_stop
}

# ---------------------------------------------------------------- flow level

sc_abort-rst() {
    PORT=4480; cap_start abort-rst
    srv $PORT $PY "$GEN_DIR/peers.py" rst-server $PORT
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_abort-fin() {
    PORT=4481; cap_start abort-fin
    srv $PORT $PY "$GEN_DIR/peers.py" fin-server $PORT
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_timeout() {
    PORT=4482; cap_start timeout
    srv $PORT $PY "$GEN_DIR/peers.py" silent-server $PORT 6
    printf 'GET / HTTP/1.0\r\n\r\n' | timeout 3 openssl s_client -connect 127.0.0.1:$PORT \
        -servername server.example -ign_eof >> "$W/log/$CAP.cli" 2>&1
    cap_stop
}

# a server that answers 12 s after the ClientHello (beyond the default
# --handshake-timeout of 10 s), then completes: the timeout was provisional
sc_slow-server() {
    PORT=4499; cap_start slow-server
    srv 5499 openssl s_server -accept 5499 -naccept 1 -quiet -WWW $(S_OK)
    srv $PORT $PY "$GEN_DIR/peers.py" slow-proxy $PORT 5499 12
    printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | timeout 25 openssl s_client -connect 127.0.0.1:$PORT \
        -keylogfile "$RAW/$CAP.keylog" -tls1_3 -servername server.example -ign_eof $(VERIFY) >> "$W/log/$CAP.cli" 2>&1
    cap_stop
}

sc_not-tls-http() {
    PORT=4483; cap_start not-tls-http
    srv $PORT $PY "$GEN_DIR/peers.py" http400-server $PORT
    get -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

sc_plaintext-to-tls() {
    PORT=4484; cap_start plaintext-to-tls
    s_srv $PORT -quiet -WWW $(S_OK)
    timeout 10 $PY "$GEN_DIR/peers.py" plain-client $PORT >> "$W/log/$CAP.cli" 2>&1
    cap_stop
}

# ---------------------------------------------------------------- gnutls

sc_gnutls-tls13() {
    PORT=4485; cap_start gnutls-tls13
    s_srv $PORT -quiet -WWW $(S_OK) -alpn http/1.1
    (printf 'GET /hello.txt HTTP/1.0\r\n\r\n'; sleep 1) | SSLKEYLOGFILE="$RAW/$CAP.keylog" timeout 10 gnutls-cli \
        -p $PORT 127.0.0.1 --alpn http/1.1 --x509cafile "$C/ca.crt" --sni-hostname server.example \
        --verify-hostname server.example >> "$W/log/$CAP.cli" 2>&1
    cap_stop
}

# ---------------------------------------------------------------- key-log decryption coverage
# Suites and events that --keylog decrypts beyond AES-GCM/ChaCha20. Each
# makes the decrypted content prove itself: a renegotiation whose hellos
# (read decrypted) give the keys of the records after it, a TLS 1.3
# certificate only readable decrypted, close_notify after KeyUpdates.

# CBC, MAC-then-encrypt: the client offers encrypt_then_mac, the server
# (-no_etm) does not take it
sc_tls12-cbc-reneg() {
    PORT=4494; cap_start tls12-cbc-reneg
    s_srv $PORT -quiet -rev -client_renegotiation -no_etm -cipher ECDHE-ECDSA-AES128-SHA256 $(S_OK)
    cli 'sleep 0.3; echo hello; sleep 0.3; echo R; sleep 0.5; echo after renegotiation; sleep 0.3' \
        -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

# CBC, encrypt_then_mac (both hellos), SHA-384 MAC and PRF
sc_tls12-cbc-etm-reneg() {
    PORT=4495; cap_start tls12-cbc-etm-reneg
    s_srv $PORT -quiet -rev -client_renegotiation -cipher ECDHE-ECDSA-AES256-SHA384 $(S_OK)
    cli 'sleep 0.3; echo hello; sleep 0.3; echo R; sleep 0.5; echo after renegotiation; sleep 0.3' \
        -tls1_2 -servername server.example $(VERIFY)
    cap_stop
}

# AES-128-CCM_8 (RFC 7251), 8-byte tags
sc_tls12-ccm8-reneg() {
    PORT=4496; cap_start tls12-ccm8-reneg
    s_srv $PORT -quiet -rev -client_renegotiation -cipher ECDHE-ECDSA-AES128-CCM8 $(S_OK)
    cli 'sleep 0.3; echo hello; sleep 0.3; echo R; sleep 0.5; echo after renegotiation; sleep 0.3' \
        -tls1_2 -cipher ECDHE-ECDSA-AES128-CCM8 -servername server.example $(VERIFY)
    cap_stop
}

sc_tls13-ccm() {
    PORT=4497; cap_start tls13-ccm
    s_srv $PORT -quiet -WWW $(S_OK) -ciphersuites TLS_AES_128_CCM_SHA256
    get -tls1_3 -ciphersuites TLS_AES_128_CCM_SHA256 -servername server.example $(VERIFY)
    cap_stop
}

# TLS_AES_128_CCM_8_SHA256; the client sends a KeyUpdate with
# update_requested (K: the server answers with its own), then one without
# (k), a line after each, then closes (close_notify under its third key)
sc_tls13-ccm8-keyupdate() {
    PORT=4498; cap_start tls13-ccm8-keyupdate
    s_srv $PORT -quiet -rev $(S_OK) -ciphersuites TLS_AES_128_CCM_8_SHA256
    cli 'sleep 0.3; echo hello; sleep 0.3; echo K; sleep 0.3; echo after update; sleep 0.3; echo k; sleep 0.3; echo again; sleep 0.3' \
        -tls1_3 -ciphersuites TLS_AES_128_CCM_8_SHA256 -servername server.example $(VERIFY)
    cap_stop
}

# ---------------------------------------------------------------- OpenVPN
# The TLS handshake inside OpenVPN's control channel over TCP (openvpn
# --dev null: no tun device; the control channel comes first). Ports
# 1194-1197 (1194: tshark decodes OpenVPN there; the rest must be found by
# content). The client stops after 3 s: the handshake takes well under one.

OVPN_S() { echo "--ca $C/ca.crt --cert $C/server.crt --key $C/server.key --extra-certs $C/int.crt --dh none"; }
OVPN_C() { echo "--ca $C/ca.crt --cert $C/client.crt --key $C/client.key --extra-certs $C/int.crt"; }

# ovpn_srv PORT ARGS...: one OpenVPN TCP server on 127.0.0.1:PORT.
ovpn_srv() {
    local port=$1
    shift
    srv "$port" openvpn --dev null --proto tcp-server --local 127.0.0.1 --port "$port" --tls-server \
        --verb 3 "$@"
}

# ovpn_cli ARGS...: an OpenVPN TCP client to $PORT for 3 s, one connection.
ovpn_cli() {
    timeout 3 openvpn --dev null --proto tcp-client --remote 127.0.0.1 "$PORT" --tls-client \
        --connect-retry-max 1 --verb 3 "$@" >> "$W/log/$CAP.cli" 2>&1
}

ovpn_key() { [ -s "$W/ta.key" ] || openvpn --genkey secret "$W/ta.key" > /dev/null 2>&1; }

sc_ovpn-ok() {
    PORT=1194; cap_start ovpn-ok
    ovpn_srv $PORT $(OVPN_S)
    ovpn_cli $(OVPN_C)
    cap_stop
}

# tls-auth with HMAC-SHA256 (32 bytes), TLS 1.2: certificates in the clear
sc_ovpn-tls-auth() {
    PORT=1195; cap_start ovpn-tls-auth
    ovpn_key
    ovpn_srv $PORT $(OVPN_S) --tls-auth "$W/ta.key" 0 --auth SHA256 --tls-version-max 1.2
    ovpn_cli $(OVPN_C) --tls-auth "$W/ta.key" 1 --auth SHA256 --tls-version-max 1.2
    cap_stop
}

# the server does not trust the client's certificate (issued by another
# root): TLS 1.2, the client's certificate in the clear; OpenVPN closes the
# connection without sending the TLS alert
sc_ovpn-client-cert-rejected() {
    PORT=1196; cap_start ovpn-client-cert-rejected
    ovpn_srv $PORT $(OVPN_S) --tls-version-max 1.2
    ovpn_cli --ca "$C/ca.crt" --cert "$C/rogue-leaf.crt" --key "$C/rogue-leaf.key" --tls-version-max 1.2
    cap_stop
}

# tls-crypt: the control channel is encrypted, the handshake cannot be read
sc_ovpn-tls-crypt() {
    PORT=1197; cap_start ovpn-tls-crypt
    ovpn_key
    ovpn_srv $PORT $(OVPN_S) --tls-crypt "$W/ta.key"
    ovpn_cli $(OVPN_C) --tls-crypt "$W/ta.key"
    cap_stop
}

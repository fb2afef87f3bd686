# tests/gen/certs.sh -- sourced by make-pcaps.sh (bash).
# make_certs DIR: a throw-away PKI for the capture scenarios. Every run makes
# new keys; no key is ever committed. Only the root certificate is published,
# as pcaps/test-ca.pem (save_test_ca below).
#
#   ca.crt            root CA "tlswatch test root" (EC P-256)
#   int.crt           intermediate CA signed by the root
#   server.crt/key    leaf server.example (+ localhost, 127.0.0.1, ::1) by int
#   client.crt/key    client certificate (clientAuth) by int; client-chain.pem = leaf+int
#   default.crt/key   leaf default.example by int (default cert for the SNI scenarios)
#   expired.crt/key   leaf server.example, valid 2020-01-01 .. 2021-01-01
#   notyet.crt/key    leaf server.example, valid 2099-01-01 .. 2100-01-01
#   selfsigned.crt/key self-signed server.example
#   rogue-leaf.crt/key leaf server.example by a root that nobody trusts
#   rsa2048.crt/key   RSA-2048 leaf (static-RSA key exchange)
#   rsa1024.crt/key   RSA-1024 leaf (weak key)
#   sha1.crt/key      leaf signed with ecdsa-with-SHA1
#   revoked.crt/key   leaf server.example by int (openssl ca), then revoked:
#   int-crl.pem       CRL of the intermediate listing revoked.crt (keyCompromise)
make_certs() {
    local d=$1
    mkdir -p "$d" && cd "$d" || return 1
    local ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256"

    cat > ext.cnf <<'EOF'
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[int_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:server.example,DNS:localhost,IP:127.0.0.1,IP:::1
authorityKeyIdentifier = keyid
[default_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:default.example
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[self_ext]
basicConstraints = CA:FALSE
subjectAltName = DNS:server.example
EOF
    # openssl ca is needed for explicit start/end dates (x509 -req in 3.0 cannot).
    mkdir -p ca.db && : > ca.db/index.txt && echo 1000 > ca.db/serial
    cat > ca.cnf <<'EOF'
[ca]
default_ca = int
[int]
dir = .
database = ./ca.db/index.txt
serial = ./ca.db/serial
new_certs_dir = ./ca.db
certificate = ./int.crt
private_key = ./int.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
EOF
    {
    openssl req -x509 $ec -nodes -keyout ca.key -out ca.crt -days 3650 \
        -subj "/CN=tlswatch test root" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -new $ec -nodes -keyout int.key -out int.csr -subj "/CN=tlswatch test intermediate" &&
    openssl x509 -req -in int.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3000 \
        -extfile ext.cnf -extensions int_ext -out int.crt &&
    leaf server "/CN=server.example" server_ext &&
    leaf client "/CN=tlswatch test client" client_ext &&
    leaf default "/CN=default.example" default_ext &&
    cat client.crt int.crt > client-chain.pem &&
    cat server.crt int.crt > server-chain.pem &&
    openssl req -new $ec -nodes -keyout expired.key -out expired.csr -subj "/CN=server.example" &&
    openssl ca -batch -config ca.cnf -notext -in expired.csr -out expired.crt \
        -startdate 20200101000000Z -enddate 20210101000000Z \
        -extfile ext.cnf -extensions server_ext &&
    openssl req -new $ec -nodes -keyout notyet.key -out notyet.csr -subj "/CN=server.example" &&
    openssl ca -batch -config ca.cnf -notext -in notyet.csr -out notyet.crt \
        -startdate 20990101000000Z -enddate 21000101000000Z \
        -extfile ext.cnf -extensions server_ext &&
    openssl req -x509 $ec -nodes -keyout selfsigned.key -out selfsigned.crt -days 365 \
        -subj "/CN=server.example" -addext "subjectAltName=DNS:server.example" &&
    openssl req -x509 $ec -nodes -keyout rogue.key -out rogue.crt -days 365 -subj "/CN=rogue root" &&
    openssl req -new $ec -nodes -keyout rogue-leaf.key -out rogue-leaf.csr -subj "/CN=server.example" &&
    openssl x509 -req -in rogue-leaf.csr -CA rogue.crt -CAkey rogue.key -CAcreateserial -days 365 \
        -extfile ext.cnf -extensions server_ext -out rogue-leaf.crt &&
    openssl req -new -newkey rsa:2048 -nodes -keyout rsa2048.key -out rsa2048.csr -subj "/CN=server.example" &&
    openssl x509 -req -in rsa2048.csr -CA int.crt -CAkey int.key -CAcreateserial -days 365 \
        -extfile ext.cnf -extensions server_ext -out rsa2048.crt &&
    openssl req -new -newkey rsa:1024 -nodes -keyout rsa1024.key -out rsa1024.csr -subj "/CN=server.example" &&
    openssl x509 -req -in rsa1024.csr -CA int.crt -CAkey int.key -CAcreateserial -days 365 \
        -extfile ext.cnf -extensions server_ext -out rsa1024.crt &&
    openssl req -new $ec -nodes -keyout sha1.key -out sha1.csr -subj "/CN=server.example" &&
    openssl x509 -req -sha1 -in sha1.csr -CA int.crt -CAkey int.key -CAcreateserial -days 365 \
        -extfile ext.cnf -extensions server_ext -out sha1.crt &&
    openssl req -new $ec -nodes -keyout revoked.key -out revoked.csr -subj "/CN=server.example" &&
    openssl ca -batch -config ca.cnf -notext -in revoked.csr -out revoked.crt -days 365 \
        -extfile ext.cnf -extensions server_ext &&
    openssl ca -batch -config ca.cnf -revoke revoked.crt -crl_reason keyCompromise &&
    openssl ca -batch -config ca.cnf -gencrl -crldays 30 -out int-crl.pem
    } > certs.log 2>&1
    local rc=$?
    cd - >/dev/null
    return $rc
}

# save_test_ca DIR OUTFILE NSCENARIOS: the public trust anchor of this run for
# `tlswatch --ca-file`: the root "tlswatch test root" only (a certificate, never
# a key). Deliberately left out:
#   - the intermediate: with it in the store, chain-incomplete (leaf sent
#     without its intermediate) would verify;
#   - "rogue root" (unknown-ca) and the self-signed leaf (self-signed): those
#     captures must stay untrusted.
# A full run (NSCENARIOS 0) replaces OUTFILE. A partial run (scenario names
# given) only re-makes some captures while the others still chain to the
# earlier roots, so the new root is appended instead.
save_test_ca() {
    local d=$1 out=$2 partial=$3 tmp
    tmp=$(mktemp "$out.XXXXXX") || return 1
    if [ "$partial" != 0 ] && [ -s "$out" ]; then
        cat "$out" > "$tmp"
    else
        printf '# pcaps/test-ca.pem -- written by tests/gen/make-pcaps.sh (certs.sh save_test_ca).\n# Trust anchor of the generated captures: use with tlswatch --ca-file pcaps/test-ca.pem.\n# Root only: no intermediate, no rogue/self-signed roots, no private keys.\n' > "$tmp"
    fi
    openssl x509 -in "$d/ca.crt" -noout -subject -enddate | sed 's/^/# /' >> "$tmp" &&
        openssl x509 -in "$d/ca.crt" -outform PEM >> "$tmp" || { rm -f "$tmp"; return 1; }
    if grep -q 'PRIVATE KEY' "$tmp"; then
        echo "save_test_ca: refusing to write a private key to $out" >&2
        rm -f "$tmp"
        return 1
    fi
    chmod 644 "$tmp" && mv "$tmp" "$out"
}

# leaf NAME SUBJECT EXTSECTION: EC P-256 leaf signed by the intermediate.
leaf() {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$1.key" -out "$1.csr" -subj "$2" &&
    openssl x509 -req -in "$1.csr" -CA int.crt -CAkey int.key -CAcreateserial -days 365 \
        -extfile ext.cnf -extensions "$3" -out "$1.crt"
}

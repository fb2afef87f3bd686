# Sourced inside a private network namespace (unshare -n) by the live
# tests: veth_pair SECONDS CN makes a second namespace (a child of this one,
# held open by a bounded sleep: $PEER, commands in it through $PX), a veth
# pair tw0 (10.99.0.1, here) -- tw1 (10.99.0.2, there), and a self-signed
# P-256 certificate c.pem/k.pem for CN in the current directory. Nothing
# leaves the two namespaces.
veth_pair() {
    ip link set lo up
    unshare -n sleep "$1" &
    PEER=$!
    sleep 0.2
    PX="nsenter -t $PEER -n"
    ip link add tw0 type veth peer name tw1 || return 1
    ip link set tw1 netns "$PEER" || return 1
    ip addr add 10.99.0.1/24 dev tw0
    ip link set tw0 up
    $PX ip link set lo up
    $PX ip addr add 10.99.0.2/24 dev tw1
    $PX ip link set tw1 up
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem \
        -days 2 -subj "/CN=$2" 2>/dev/null
}

# veth_test_start NAME [COMMAND...]: in the test script itself (not in the
# namespace): SKIP (and exit) unless root with unshare, nsenter and each
# COMMAND; then a work directory $T, removed at exit unless KEEP is set.
veth_test_start() {
    name=$1
    shift
    for c in unshare nsenter "$@"; do
        if [ "$(id -u)" != 0 ] || ! command -v "$c" > /dev/null 2>&1; then
            echo "SKIP $name: needs root, unshare, nsenter${*:+ and $*}"
            exit 0
        fi
    done
    T=$(mktemp -d)
    trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
    [ -n "${KEEP:-}" ] && echo "work dir $T"
}

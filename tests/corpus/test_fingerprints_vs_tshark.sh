#!/bin/sh
# ja3/ja3s against tshark and ja4 against published values, per handshake,
# on the shared corpus (see fingerprints_vs_tshark.py).
command -v tshark >/dev/null 2>&1 || { echo "FAIL fingerprints: tshark not found (scripts/deps.sh --test installs it)"; exit 1; }
exec python3 "$TOP/tests/corpus/fingerprints_vs_tshark.py"

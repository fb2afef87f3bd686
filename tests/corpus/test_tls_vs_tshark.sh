#!/bin/sh
# tls events against tshark per TLS connection (see tls_vs_tshark.py).
exec python3 "$TOP/tests/corpus/tls_vs_tshark.py"

#!/bin/sh
# tls events against Zeek's ssl.log baselines (see tls_vs_zeek.py).
exec python3 "$TOP/tests/corpus/tls_vs_zeek.py"

#!/bin/sh
# Findings against the source projects' expectations (Zeek validation_status and
# notice.log, suricata-verify test.yaml, CESNET FlowTest); see findings_vs_sources.py.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
TLSWATCH=${TLSWATCH:-$TOP/build/rel/tlswatch}
export TOP TLSWATCH
if [ ! -f "$TOP/../shared/corpus/MANIFEST.tsv" ]; then
    echo "FAIL findings vs sources: $TOP/../shared/corpus/MANIFEST.tsv not found"
    exit 1
fi
exec python3 "$TOP/tests/corpus/findings_vs_sources.py"

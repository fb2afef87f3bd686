#!/bin/sh
# Capture files of 8 MiB and more are read ahead on a second thread
# (src/readahead.c); a pipe is read by the analysis thread itself. On the
# same bytes both must give the same events, and the same error at the same
# offset for a file cut short or damaged in the middle, pcap and pcapng;
# several files in a row each get their reader. The capture is built by
# tests/bench/gen_bulk.c from a real handshake in pcaps/.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP/tests/lib/benchgen.sh"
benchgen_start gen_bulk
"$T/gen_bulk" -t "$TOP/pcaps/tls13-ok.pcap" -n 600 -m 16k -c 40 -o "$T/big.pcap" 2> /dev/null ||
    { echo "FAIL gen_bulk"; exit 1; }
# flow ids are keyed per process, the memory figures vary: not compared
norm() { sed -E 's/"flow_id":[0-9]+/"flow_id":X/g; s/"(max_)?rss_kib":[0-9]+/"\1rss_kib":X/g'; }
# file: read ahead; pipe: read by the analysis thread
both() { # name, file, extra args...
    n=$1 f=$2
    shift 2
    timeout 300 "$TLSWATCH" --all -r "$f" "$@" > "$T/$n.file.out" 2> "$T/$n.file.err"
    echo $? > "$T/$n.file.rc"
    cat "$f" | timeout 300 "$TLSWATCH" --all -r - "$@" > "$T/$n.pipe.out" 2> "$T/$n.pipe.err"
    echo $? > "$T/$n.pipe.rc"
    norm < "$T/$n.file.out" > "$T/$n.file.n"
    norm < "$T/$n.pipe.out" > "$T/$n.pipe.n"
    sed 's/(stdin)/FILE/' "$T/$n.pipe.err" > "$T/$n.pipe.e"
    sed "s|$f|FILE|" "$T/$n.file.err" > "$T/$n.file.e"
}
same() { # name, what
    cmp -s "$T/$1.file.n" "$T/$1.pipe.n" && cmp -s "$T/$1.file.e" "$T/$1.pipe.e" &&
        [ "$(cat "$T/$1.file.rc")" = "$(cat "$T/$1.pipe.rc")" ] && echo true
}

size=$(stat -c %s "$T/big.pcap")
both ok "$T/big.pcap"
hs=$(grep -c '"event_type":"tls"' "$T/ok.file.out")
check "a ${size}-byte pcap: read ahead from the file and read from a pipe, the same $hs tls events and stats" \
    "$([ "$size" -gt 8388608 ] && [ "$hs" = 600 ] && [ "$(same ok)" = true ] && echo true)" \
    "size $size, $hs tls events; $(diff "$T/ok.file.n" "$T/ok.pipe.n" | head -3)"

# the reader thread is there: the file's data comes in by pread64 (of 64 KiB
# and more: the loader's own pread64 calls are small) from a second task
big_preads() { grep -E 'pread64\([0-9]+, .*, [0-9]{5,}, [0-9]+\) = [0-9]{5,}' "$1" | awk '$0 ~ /, [0-9]+, [0-9]+\) =/ {print $1}'; }
if command -v strace > /dev/null 2>&1; then
    strace -f -qq -e trace=pread64 -o "$T/trace" "$TLSWATCH" -q -r "$T/big.pcap" > /dev/null 2>&1
    np=$(big_preads "$T/trace" | wc -l)
    tids=$(big_preads "$T/trace" | sort -u | wc -l)
    main=$(head -1 "$T/trace" | awk '{print $1}')
    check "the file is read by one reader thread ($np large pread64 calls from $tids task, not the first)" \
        "$([ "$np" -ge 5 ] && [ "$tids" = 1 ] && [ "$(big_preads "$T/trace" | head -1)" != "$main" ] && echo true)" \
        "$np calls, $tids tasks; $(big_preads "$T/trace" | head -1) vs $main"
    strace -f -qq -e trace=pread64 -o "$T/trace2" sh -c "cat '$T/big.pcap' | '$TLSWATCH' -q -r - > /dev/null 2>&1"
    check "a pipe is not read ahead (no large pread64)" "$([ "$(big_preads "$T/trace2" | wc -l)" = 0 ] && echo true)" \
        "$(big_preads "$T/trace2" | wc -l) calls"
    if command -v taskset > /dev/null 2>&1; then
        # (pthread_create is clone3; LeakSanitizer's exit-time helper is a clone)
        strace -f -qq -e trace=pread64,clone3 -o "$T/trace3" taskset -c 0 "$TLSWATCH" -q -r "$T/big.pcap" > /dev/null 2>&1
        check "on one CPU (taskset -c 0) the file is read by the analysis thread (no thread, no large pread64)" \
            "$([ "$(big_preads "$T/trace3" | wc -l)" = 0 ] && ! grep -q 'clone3(' "$T/trace3" && echo true)" \
            "$(big_preads "$T/trace3" | wc -l) calls; $(grep -c 'clone3(' "$T/trace3") threads"
    fi
else
    echo "SKIP the reader thread seen by strace: strace not installed"
fi

# cut short inside a record, 3 MB in and near the end
for cut in 3000017 $((size - 777)); do
    head -c "$cut" "$T/big.pcap" > "$T/cut.pcap"
    both cut "$T/cut.pcap"
    check "cut at byte $cut: the same events and the same error line" \
        "$([ "$(same cut)" = true ] && grep -q 'the file ends' "$T/cut.file.err" && echo true)" \
        "$(head -2 "$T/cut.file.err") / $(head -2 "$T/cut.pipe.err")"
done

# a record's captured length made hostile in the middle of the file
python3 - "$T/big.pcap" "$T/bad.pcap" << 'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
off, n = 24, 0
while off + 16 <= len(b) and off < len(b) // 2:
    off += 16 + struct.unpack_from('<I', b, off + 8)[0]
    n += 1
struct.pack_into('<I', b, off + 8, 0x7fffffff)
open(sys.argv[2], 'wb').write(b)
EOF
both bad "$T/bad.pcap"
check "a hostile captured length mid-file: the same events before it and the same error at its offset" \
    "$([ "$(same bad)" = true ] && grep -q 'record at offset [0-9]*: captured length 2147483647' "$T/bad.file.err" && echo true)" \
    "$(head -2 "$T/bad.file.err") / $(head -2 "$T/bad.pipe.err")"

# pcapng: the same, and cut
if command -v editcap > /dev/null 2>&1; then
    editcap -F pcapng "$T/big.pcap" "$T/big.pcapng"
    both ng "$T/big.pcapng"
    check "the same capture as pcapng: read ahead and from a pipe alike, as the pcap ($hs tls events)" \
        "$([ "$(same ng)" = true ] && [ "$(grep -c '"event_type":"tls"' "$T/ng.file.out")" = "$hs" ] && echo true)" \
        "$(diff "$T/ng.file.n" "$T/ng.pipe.n" | head -3)"
    head -c 5000003 "$T/big.pcapng" > "$T/ngcut.pcapng"
    both ngcut "$T/ngcut.pcapng"
    check "pcapng cut at byte 5000003: the same events and error line" \
        "$([ "$(same ngcut)" = true ] && grep -q 'the file ends' "$T/ngcut.file.err" && echo true)" \
        "$(head -2 "$T/ngcut.file.err") / $(head -2 "$T/ngcut.pipe.err")"
else
    echo "SKIP pcapng read ahead: editcap not installed"
fi

# two files in a row, the first damaged: each gets its reader; the second
# (the same connections with other sequence numbers and later) is read
# whole after the first one's error
"$T/gen_bulk" -t "$TOP/pcaps/tls13-ok.pcap" -n 600 -m 16k -c 40 -s 7 -o "$T/big2.pcap" 2> /dev/null
timeout 300 "$TLSWATCH" --all -r "$T/big2.pcap" > "$T/one2.out" 2> /dev/null
timeout 300 "$TLSWATCH" --all -r "$T/bad.pcap" -r "$T/big2.pcap" > "$T/two.out" 2> "$T/two.err"
rc=$?
nb=$(grep -c '"event_type":"tls"' "$T/bad.file.out")
n1=$(grep -c '"event_type":"tls"' "$T/one2.out")
n2=$(grep -c '"event_type":"tls"' "$T/two.out")
check "two files in a row, the first damaged: exit $rc, its error, then all of the second ($n2 tls events = $nb + $n1)" \
    "$([ "$rc" = 1 ] && [ "$nb" -gt 0 ] && [ "$n1" -gt 0 ] && [ "$n2" = $((nb + n1)) ] && grep -q 'captured length 2147483647' "$T/two.err" && echo true)" \
    "rc $rc, $n2 tls events; $(head -2 "$T/two.err")"

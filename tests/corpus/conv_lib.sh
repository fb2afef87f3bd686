# Normalizers shared by the TCP-connection comparison against tshark.
# One line per connection: "A_ip:A_port B_ip:B_port frames", endpoints sorted.

# tshark -q -z conv,tcp  ->  normalized lines
tshark_convs() {
    tshark -n -r "$1" -q -z conv,tcp 2>/dev/null | awk '
        /<->/ {
            a=$1; b=$3; frames=$4+$7
            if (a > b) { t=a; a=b; b=t }
            print a, b, frames
        }' | sort
}

# tlswatch --flows  ->  normalized lines
tlswatch_convs() {
    "$TLSWATCH" -q --flows -r "$1" 2>/dev/null | jq -r '
        select(.event_type=="flow") |
        [ (.src_ip + ":" + (.src_port|tostring)), (.dest_ip + ":" + (.dest_port|tostring)),
          (.flow.pkts_toserver + .flow.pkts_toclient) ] |
        if .[0] > .[1] then [.[1], .[0], .[2]] else . end | "\(.[0]) \(.[1]) \(.[2])"' | sort
}

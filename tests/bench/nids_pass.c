/* tests/bench/nids_pass.c -- a bare libnids pass over a capture file, the
 * second baseline of `make bench` (issue 11): libnids reads the file with
 * its own libpcap loop, defragments, tracks every TCP connection and
 * collects nothing (no reassembly buffers are filled, no callback reads
 * data). What tlswatch must beat to be "below libnids' floor". Checksums
 * are not verified (as tlswatch once a direction is decided) and the port
 * scan detector is off, as in tlswatch. Prints "CONNECTIONS ESTABLISHED".
 *
 * usage: nids_pass FILE
 */
#include <nids.h>
#include <stdio.h>

static unsigned long established;

static void tcp_cb(struct tcp_stream *ts, void **param)
{
    (void)ts;
    (void)param;
    if (ts->nids_state == NIDS_JUST_EST) established++;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: nids_pass FILE\n");
        return 2;
    }
    nids_params.filename = argv[1];
    nids_params.device = NULL;
    nids_params.scan_num_hosts = 0;
    nids_params.n_tcp_streams = 65536;
    nids_params.tcp_workarounds = 0;
    if (!nids_init()) {
        fprintf(stderr, "nids_pass: %s\n", nids_errbuf);
        return 1;
    }
    static struct nids_chksum_ctl all = { 0, 0, NIDS_DONT_CHKSUM, 0 };
    nids_register_chksum_ctl(&all, 1);
    nids_register_tcp(tcp_cb);
    nids_run();
    printf("%lu\n", established);
    nids_exit();
    return 0;
}

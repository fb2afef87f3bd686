/* Replays a libFuzzer corpus without libFuzzer: every file under the
 * directories (or files) given is passed once to LLVMFuzzerTestOneInput.
 * Prints one PASS line per directory; a crash or sanitizer report fails
 * the run (tests/run.sh counts a non-zero exit as a failure). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return -1; }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0) break;
        len += n;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 1;
}

static long replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return replay_file(path);
    DIR *d = opendir(path);
    if (!d) return 0;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        int w = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (w < 0 || (size_t)w >= sizeof sub) continue;
        long r = replay_path(sub);
        if (r < 0) { closedir(d); return r; }
        n += r;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        long n = replay_path(argv[i]);
        if (n <= 0) {
            printf("FAIL replay %s: no inputs\n", argv[i]);
            bad = 1;
        } else {
            printf("PASS replay %s: %ld inputs without a crash\n", argv[i], n);
        }
    }
    return bad;
}

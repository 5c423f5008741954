/*
 * replay_main.h - main() for a fuzz harness built without libFuzzer
 * (-DWISP_FUZZ_MAIN): runs LLVMFuzzerTestOneInput over each file named on
 * the command line, so CI can replay a corpus with plain sanitizers.
 * Include it once, at the end of the harness.
 */
#ifndef WISP_REPLAY_MAIN_H
#define WISP_REPLAY_MAIN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (f == NULL) {
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    buf = malloc((size_t)n + 1); /* + 1: a zero-length file still gets a buffer */
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        if (replay_file(argv[i]) != 0) {
            fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
            return 1;
        }
    }
    printf("%s: %d input(s) replayed\n", argv[0], argc - 1);
    return 0;
}

#endif /* WISP_REPLAY_MAIN_H */

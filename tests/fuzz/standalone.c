/*
 * standalone.c - replay fuzz inputs without libFuzzer: every file named on
 * the command line (directories are walked one level) is fed once to
 * LLVMFuzzerTestOneInput. ctest runs each target over its seed corpus this
 * way, so the corpus doubles as a regression suite on any compiler.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long len;
    uint8_t *buf;
    if (!f)
        return perror(path), 1;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* Exactly len bytes, so ASan catches a read one past the input. */
    buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(buf);
        return fprintf(stderr, "%s: read failed\n", path), 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int failures = 0, count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            return perror(argv[i]), 1;
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d)) != NULL) {
                char path[4096];
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                failures += run_file(path);
                count++;
            }
            if (d)
                closedir(d);
        } else {
            failures += run_file(argv[i]);
            count++;
        }
    }
    printf("replayed %d inputs\n", count);
    return failures != 0 || count == 0;
}

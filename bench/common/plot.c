/*
 * plot.c - finding and running gnuplot (plot.h).
 */
#include "plot.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

bool bench_on_path(const char *program) {
    const char *path = getenv("PATH");
    char candidate[4096];
    while (path != NULL && *path != '\0') {
        size_t n = strcspn(path, ":");
        snprintf(candidate, sizeof candidate, "%.*s/%s", (int)n, path, program);
        if (access(candidate, X_OK) == 0) {
            return true;
        }
        path += n + (path[n] == ':');
    }
    return false;
}

FILE *bench_gnuplot_open(const char *png_path, int *status) {
    if (!bench_on_path("gnuplot")) {
        printf("gnuplot not found: PNG skipped (install gnuplot-nox)\n");
        *status = 1;
        return NULL;
    }
    *status = -1;
    if (strchr(png_path, '\'') != NULL) {
        fprintf(stderr, "PNG path must not contain a quote: %s\n", png_path);
        return NULL;
    }
    fflush(NULL);
    FILE *g = popen("gnuplot", "w");
    if (g != NULL) {
        *status = 0;
    }
    return g;
}

int bench_gnuplot_close(FILE *gnuplot) {
    int status = pclose(gnuplot);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "gnuplot failed (status %d)\n", status);
        return -1;
    }
    return 0;
}

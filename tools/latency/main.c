/*
 * keel-latency: timer wakeup latency of keel's executive, cyclictest style.
 *
 *   keel-latency [-i US] [-l LOOPS | -D SECONDS] [-p PRIO] [-a CPU] [-m] [-h MAXUS]
 *                [--csv FILE] [--png FILE] [-q]
 *
 * One periodic keel task (SCHED_FIFO at PRIO when permitted) wakes every
 * interval at an absolute time; its latency is how late it runs. Prints min,
 * average, max and the p50/p99/p99.9 percentiles in microseconds; -h prints a
 * 1-us histogram in cyclictest's format; --csv writes every sample (ns);
 * --png draws the histogram with gnuplot.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency.h"

static void usage(FILE *out) {
    fprintf(out, "usage: keel-latency [options]\n"
                 "  -i, --interval US     wakeup interval in microseconds (default 1000)\n"
                 "  -l, --loops N         number of wakeups (default 10000)\n"
                 "  -D, --duration S      run for S seconds instead of -l\n"
                 "  -p, --priority PRIO   SCHED_FIFO priority (default 80)\n"
                 "  -a, --affinity CPU    pin to CPU (default 0; -1: not pinned)\n"
                 "  -m, --mlockall        lock memory\n"
                 "  -h, --histogram US    print a 1-us histogram up to US, cyclictest style\n"
                 "      --csv FILE        write every sample (ns) to FILE\n"
                 "      --png FILE        draw the latency histogram into FILE (gnuplot)\n"
                 "  -q, --quiet           only the summary\n");
}

static bool parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return false;
    *out = v;
    return true;
}

static int plot(const char *png, const uint64_t *sorted, uint64_t n, const char *title) {
    if (strchr(png, '\'') != NULL) {
        fprintf(stderr, "keel-latency: --png path must not contain a quote\n");
        return -1;
    }
    FILE *g = popen("gnuplot", "w");
    if (g == NULL) {
        fprintf(stderr, "keel-latency: cannot run gnuplot: PNG skipped\n");
        return -1;
    }
    fprintf(g, "set terminal pngcairo noenhanced size 900,500\nset output '%s'\n", png);
    fprintf(g,
            "set title '%s'\nset logscale y\nset xlabel 'latency (us)'\n"
            "set ylabel 'wakeups'\nset style fill solid 0.6\nset yrange [0.8:*]\n",
            title);
    fprintf(g, "plot '-' using 1:2 with boxes lc rgb '#4477aa' title 'keel'\n");
    uint64_t i = 0;
    while (i < n) {
        uint64_t us = sorted[i] / 1000, c = 0;
        while (i < n && sorted[i] / 1000 == us) {
            c++;
            i++;
        }
        fprintf(g, "%" PRIu64 " %" PRIu64 "\n", us, c);
    }
    fprintf(g, "e\n");
    return pclose(g) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
    latency_params p = {.interval_ns = 1000000, .loops = 10000, .priority = 80, .cpu = 0};
    uint64_t duration = 0, hist_max = 0, v;
    const char *csv = NULL, *png = NULL;
    static const struct option longopts[] = {{"interval", required_argument, 0, 'i'},
                                             {"loops", required_argument, 0, 'l'},
                                             {"duration", required_argument, 0, 'D'},
                                             {"priority", required_argument, 0, 'p'},
                                             {"affinity", required_argument, 0, 'a'},
                                             {"mlockall", no_argument, 0, 'm'},
                                             {"histogram", required_argument, 0, 'h'},
                                             {"csv", required_argument, 0, 'c'},
                                             {"png", required_argument, 0, 'g'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'H'},
                                             {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "i:l:D:p:a:mh:q", longopts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            if (!parse_u64(optarg, &v) || v == 0 || v > 10000000) {
                fprintf(stderr, "keel-latency: -i: expected microseconds, 1..10000000\n");
                return 2;
            }
            p.interval_ns = v * 1000;
            break;
        case 'l':
            if (!parse_u64(optarg, &p.loops) || p.loops == 0 || p.loops > 100000000) {
                fprintf(stderr, "keel-latency: -l: expected 1..100000000 wakeups\n");
                return 2;
            }
            break;
        case 'D':
            if (!parse_u64(optarg, &duration) || duration == 0) {
                fprintf(stderr, "keel-latency: -D: expected seconds\n");
                return 2;
            }
            break;
        case 'p':
            if (!parse_u64(optarg, &v) || v < 1 || v > 98) {
                fprintf(stderr, "keel-latency: -p: expected a priority from 1 to 98\n");
                return 2;
            }
            p.priority = (int)v;
            break;
        case 'a':
            p.cpu = atoi(optarg);
            break;
        case 'm':
            p.mlock = true;
            break;
        case 'h':
            if (!parse_u64(optarg, &hist_max) || hist_max == 0 || hist_max > 1000000) {
                fprintf(stderr, "keel-latency: -h: expected a maximum in microseconds\n");
                return 2;
            }
            break;
        case 'c':
            csv = optarg;
            break;
        case 'g':
            png = optarg;
            break;
        case 'q':
            p.quiet = true;
            break;
        case 'H':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (duration != 0)
        p.loops = duration * 1000000000ull / p.interval_ns;

    latency_result r;
    if (latency_run(&p, &r) != 0)
        return 1;
    if (csv != NULL) {
        FILE *f = fopen(csv, "w");
        if (f == NULL) {
            fprintf(stderr, "keel-latency: %s: %s\n", csv, strerror(errno));
            return 1;
        }
        fprintf(f, "wakeup,latency_ns\n");
        for (uint64_t i = 0; i < r.count; i++)
            fprintf(f, "%" PRIu64 ",%" PRIu64 "\n", i, r.samples[i]);
        fclose(f);
    }
    long double sum = 0;
    for (uint64_t i = 0; i < r.count; i++)
        sum += r.samples[i];
    latency_sort(r.samples, r.count);
    double us = 1000.0;
    if (!p.quiet)
        printf("keel-latency: %s priority %d, CPU %d, interval %" PRIu64 " us, memory %s\n",
               r.fifo ? "SCHED_FIFO" : "DEGRADED (no SCHED_FIFO)", p.priority, p.cpu,
               p.interval_ns / 1000, r.memory_locked ? "locked" : "not locked");
    if (hist_max != 0) {
        uint64_t i = 0, over = 0;
        printf("# Histogram\n");
        for (uint64_t b = 0; b < hist_max; b++) {
            uint64_t c = 0;
            while (i < r.count && r.samples[i] / 1000 == b) {
                c++;
                i++;
            }
            printf("%06" PRIu64 " %06" PRIu64 "\n", b, c);
        }
        over = r.count - i;
        printf("# Total: %09" PRIu64 "\n# Min Latencies: %05" PRIu64 "\n# Avg Latencies: %05" PRIu64
               "\n# Max Latencies: %05" PRIu64 "\n# Histogram Overflows: %05" PRIu64 "\n",
               r.count, r.samples[0] / 1000, (uint64_t)(sum / r.count / 1000),
               r.samples[r.count - 1] / 1000, over);
    }
    printf("T: 0 P:%2d I:%" PRIu64 " C:%8" PRIu64 " Min:%9.3f Avg:%9.3f Max:%9.3f (us)\n",
           p.priority, p.interval_ns / 1000, r.count, (double)r.samples[0] / us,
           (double)(sum / r.count) / us, (double)r.samples[r.count - 1] / us);
    printf("percentiles (us): p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (skipped releases %" PRIu64
           ")\n",
           (double)latency_quantile(r.samples, r.count, 0.5) / us,
           (double)latency_quantile(r.samples, r.count, 0.99) / us,
           (double)latency_quantile(r.samples, r.count, 0.999) / us,
           (double)r.samples[r.count - 1] / us, r.skipped);
    if (png != NULL)
        plot(png, r.samples, r.count, "keel-latency: timer wakeup latency");
    free(r.samples);
    return 0;
}

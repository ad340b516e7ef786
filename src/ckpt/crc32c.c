/*
 * crc32c.c - CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every section of a persisted checkpoint. The SSE4.2 crc32
 * instruction computes it 8 bytes at a time where the CPU has it; otherwise a
 * table, one byte at a time. Both give the same values (tests/ckpt checks).
 */
#include <pthread.h>

#include "ckpt/internal.h"

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int b = 0; b < 8; b++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        table[i] = c;
    }
}

static uint32_t crc_table(uint32_t crc, const unsigned char *p, size_t n) {
    pthread_once(&table_once, make_table);
    while (n-- > 0) {
        crc = table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    }
    return crc;
}

uint32_t keel_ckpt_crc32c_software_(uint32_t crc, const void *data, size_t size);
uint32_t keel_ckpt_crc32c_software_(uint32_t crc, const void *data, size_t size) {
    return ~crc_table(~crc, data, size);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const unsigned char *p,
                                                            size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n-- > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    }
    return c32;
}
#endif

uint32_t keel_ckpt_crc32c(uint32_t crc, const void *data, size_t size) {
    if (data == NULL || size == 0) {
        return crc;
    }
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) {
        return ~crc_sse42(~crc, data, size);
    }
#endif
    return ~crc_table(~crc, data, size);
}

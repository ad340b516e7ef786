/*
 * sink.c - output channels with a bound. A write is checked before a byte
 * goes out, so a refused write writes nothing.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "domain/internal.h"
#include "ifc/internal.h"

keel_status keel_sink_init(keel_sink *s, const keel_sink_config *config) {
    if (s == NULL || config == NULL || config->write == NULL) {
        return KEEL_EINVAL;
    }
    /* Declaring a channel bounded by secret categories hands their secrets to
     * whoever reads it: a declassification. */
    uint32_t self = current_id();
    keel_categories held = atomic_load(&keel_ifc_principals_[self].privileges);
    if ((config->bound.secrecy & ~held) != 0) {
        keel_status status = keel_ifc_refuse_(
            KEEL_EPRIVILEGE, self, config->bound, (keel_label){held, 0},
            "creation of sink '%s' by '%s'", config->name != NULL ? config->name : "",
            keel_ifc_principal_name_(self));
        if (status != KEEL_OK) {
            return status;
        }
    }
    memset(s, 0, sizeof *s);
    if (config->name != NULL) {
        strncpy(s->name, config->name, sizeof s->name - 1);
    }
    s->bound = config->bound;
    s->write = config->write;
    s->context = config->context;
    s->fd = -1;
    return KEEL_OK;
}

static keel_status write_fd(void *context, const void *data, size_t size) {
    const keel_sink *s = context;
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(s->fd, p, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return KEEL_ESYSTEM;
        }
        p += n;
        size -= (size_t)n;
    }
    return KEEL_OK;
}

keel_status keel_sink_init_fd(keel_sink *s, const char *name, int fd, keel_label bound) {
    if (fd < 0) {
        return KEEL_EINVAL;
    }
    keel_sink_config config = {.name = name, .bound = bound, .write = write_fd};
    keel_status status = keel_sink_init(s, &config);
    if (status == KEEL_OK) {
        s->fd = fd;
        s->context = s;
    }
    return status;
}

/* The label check every write makes, on behalf of the calling principal. */
static keel_status admit(keel_sink *s, keel_label label) {
    if (!keel_label_flows(label, s->bound)) {
        uint32_t self = current_id();
        keel_status status =
            keel_ifc_refuse_(KEEL_EFLOW, self, label, s->bound, "sink '%s' written by '%s'",
                             s->name, keel_ifc_principal_name_(self));
        if (status != KEEL_OK) {
            __atomic_fetch_add(&s->refused, 1, __ATOMIC_RELAXED);
            return status;
        }
    }
    return KEEL_OK;
}

static keel_status emit(keel_sink *s, const void *data, size_t size) {
    keel_status status = s->write(s->context, data, size);
    if (status == KEEL_OK) {
        __atomic_fetch_add(&s->writes, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->bytes, size, __ATOMIC_RELAXED);
    }
    return status;
}

keel_status keel_sink_write(keel_sink *sink, const void *data, size_t size) {
    if (sink == NULL || (data == NULL && size > 0)) {
        return KEEL_EINVAL;
    }
    keel_status status = admit(sink, ifc_label(current_id()));
    return status == KEEL_OK ? emit(sink, data, size) : status;
}

keel_status keel_sink_write_box(keel_sink *sink, keel_box box, size_t offset, size_t size) {
    if (sink == NULL) {
        return KEEL_EINVAL;
    }
    const void *data;
    size_t box_size;
    keel_label label;
    keel_status status = keel_box_peek_(box, &data, &box_size, &label);
    if (status != KEEL_OK) {
        return status;
    }
    if (offset > box_size || size > box_size - offset) {
        return KEEL_ERANGE;
    }
    status = admit(sink, keel_label_join(label, ifc_label(current_id())));
    return status == KEEL_OK ? emit(sink, (const char *)data + offset, size) : status;
}

void keel_sink_get_stats(const keel_sink *sink, keel_sink_stats *out) {
    out->writes = __atomic_load_n(&sink->writes, __ATOMIC_RELAXED);
    out->bytes = __atomic_load_n(&sink->bytes, __ATOMIC_RELAXED);
    out->refused = __atomic_load_n(&sink->refused, __ATOMIC_RELAXED);
}

keel_label keel_sink_bound(const keel_sink *sink) {
    return sink->bound;
}

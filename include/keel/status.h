/*
 * keel/status.h - the one error vocabulary every keel module shares.
 *
 * Every fallible keel function returns a keel_status: KEEL_OK (0) on success or
 * a negative code naming what went wrong. A user's mistake is always reported
 * this way; keel never aborts the process because of one.
 *
 * Codes are stable: new codes are appended with the next free number and an
 * existing code never changes meaning. KEEL_STATUS_LIST is the single table the
 * enum, the names and the messages are generated from.
 */
#ifndef KEEL_STATUS_H
#define KEEL_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions libkeel exports; everything else in the shared library is
 * hidden, so internal helpers cannot be linked against by accident. */
#define KEEL_API __attribute__((visibility("default")))

/* X(name, value, message) */
#define KEEL_STATUS_LIST(X)                                                               \
    X(KEEL_OK, 0, "success")                                                              \
    X(KEEL_EINVAL, -1, "invalid argument")                                                \
    X(KEEL_ENOMEM, -2, "not enough free memory for the request")                          \
    X(KEEL_ERANGE, -3, "size out of range: zero, or larger than this allocator can hold") \
    X(KEEL_EALIGN, -4, "misaligned pointer, or alignment not a power of two")             \
    X(KEEL_ETOOSMALL, -5, "region too small for the allocator's metadata")                \
    X(KEEL_ENOTOWNED, -6, "pointer is not a block of this allocator")                     \
    X(KEEL_EDOUBLEFREE, -7, "block is already free")                                      \
    X(KEEL_ECORRUPT, -8, "an internal invariant is broken (memory corruption)")           \
    X(KEEL_ESTALE, -9, "mark or handle is no longer valid")                               \
    X(KEEL_ESYSTEM, -10, "an operating-system call failed")                               \
    X(KEEL_EBUSY, -11, "busy: already set up, or still in use")                           \
    X(KEEL_EFULL, -12, "a fixed-capacity table is full")                                  \
    X(KEEL_EACCESS, -13, "the calling domain does not own this")                          \
    X(KEEL_EREVOKED, -14, "the remote reference was revoked by its owner")                \
    X(KEEL_ERECOVERING, -15, "the domain failed and is recovering")                       \
    X(KEEL_ESTOPPED, -16, "the domain is stopped for good")                               \
    X(KEEL_ENOMETHOD, -17, "no such method in the interface")                             \
    X(KEEL_EFILTERED, -18, "the call was refused by the owner's filter")                  \
    X(KEEL_EPANIC, -19, "the callee panicked; its domain was recovered")                  \
    X(KEEL_EFAULT, -20, "the callee raised a hardware fault; its domain was recovered")  \
    X(KEEL_EDEPTH, -21, "calls into domains are nested too deeply")                      \
    X(KEEL_EABORTED, -22, "the domain failed while the call was inside it; result discarded") \
    X(KEEL_EDESCRIPTOR, -23, "a type descriptor is malformed, or does not match the data") \
    X(KEEL_EFORMAT, -24, "not a keel checkpoint, or inconsistent inside")                 \
    X(KEEL_EVERSION, -25, "a checkpoint format version this build cannot read")           \
    X(KEEL_ECHECKSUM, -26, "a checksum does not match: the data is corrupt")              \
    X(KEEL_ETRUNCATED, -27, "the data ends before the size its header declares")         \
    X(KEEL_ECLEARANCE, -28, "the data's label does not fit the receiver's clearance")     \
    X(KEEL_EFLOW, -29, "the data's label cannot flow to the sink's bound")                \
    X(KEEL_EPRIVILEGE, -30, "lowering a label needs a privilege the caller does not hold")

typedef enum keel_status {
#define KEEL_STATUS_ENUM_(name, value, message) name = (value),
    KEEL_STATUS_LIST(KEEL_STATUS_ENUM_)
#undef KEEL_STATUS_ENUM_
} keel_status;

/*
 * keel_strerror: a human-readable sentence for a status.
 * Returns a static string, never NULL; an unknown code gives "unknown keel status".
 * O(number of codes). Thread-safe.
 */
KEEL_API const char *keel_strerror(keel_status status);

/*
 * keel_status_name: the code's identifier, e.g. "KEEL_ENOMEM".
 * Returns a static string, never NULL; an unknown code gives "KEEL_UNKNOWN".
 * O(number of codes). Thread-safe.
 */
KEEL_API const char *keel_status_name(keel_status status);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_STATUS_H */

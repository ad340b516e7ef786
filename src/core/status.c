/* keel status codes: names and messages, generated from KEEL_STATUS_LIST. */
#include "keel/status.h"

const char *keel_strerror(keel_status status) {
    switch (status) {
#define KEEL_STATUS_MESSAGE_(name, value, message) \
    case name:                                     \
        return message;
        KEEL_STATUS_LIST(KEEL_STATUS_MESSAGE_)
#undef KEEL_STATUS_MESSAGE_
    }
    return "unknown keel status";
}

const char *keel_status_name(keel_status status) {
    switch (status) {
#define KEEL_STATUS_NAME_(name, value, message) \
    case name:                                  \
        return #name;
        KEEL_STATUS_LIST(KEEL_STATUS_NAME_)
#undef KEEL_STATUS_NAME_
    }
    return "KEEL_UNKNOWN";
}

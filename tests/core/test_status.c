#include <string.h>

#include "keel/status.h"
#include "keel_test.h"

KEEL_TEST(every_status_has_a_name_and_a_message) {
#define CHECK_ONE_(name, value, message)               \
    CHECK(strcmp(keel_status_name(name), #name) == 0); \
    CHECK(strcmp(keel_strerror(name), message) == 0);
    KEEL_STATUS_LIST(CHECK_ONE_)
#undef CHECK_ONE_
}

KEEL_TEST(ok_is_zero_and_errors_are_negative) {
    CHECK_EQ(KEEL_OK, 0);
#define CHECK_NEG_(name, value, message) CHECK(name == KEEL_OK || (int)name < 0);
    KEEL_STATUS_LIST(CHECK_NEG_)
#undef CHECK_NEG_
}

KEEL_TEST(unknown_codes_get_a_fallback_never_null) {
    CHECK(strcmp(keel_strerror((keel_status)-9999), "unknown keel status") == 0);
    CHECK(strcmp(keel_status_name((keel_status)12345), "KEEL_UNKNOWN") == 0);
}

KEEL_TEST_MAIN()

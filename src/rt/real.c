/* placeholder: replaced by the real-mode executive */
#include "rt/internal.h"

keel_status rt_real_start(keel_rt *rt) {
    (void)rt;
    return KEEL_ESYSTEM;
}
keel_status rt_real_stop(keel_rt *rt) {
    (void)rt;
    return KEEL_OK;
}
keel_status rt_real_trigger(keel_rt *rt, rt_task *t) {
    (void)rt;
    (void)t;
    return KEEL_EBUSY;
}
uint64_t rt_real_now(const keel_rt *rt) {
    (void)rt;
    return 0;
}
keel_status rt_real_lock(keel_rt *rt, rt_task *t, unsigned resource) {
    (void)rt;
    (void)t;
    (void)resource;
    return KEEL_EBUSY;
}
keel_status rt_real_unlock(keel_rt *rt, rt_task *t, unsigned resource) {
    (void)rt;
    (void)t;
    (void)resource;
    return KEEL_EBUSY;
}

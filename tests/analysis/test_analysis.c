/*
 * Response-time analysis against answers known in advance: the worked examples
 * of Burns and Wellings (Real-Time Systems and Programming Languages, 4th ed.,
 * section 11.5 and the deadline-monotonic example of 11.7), and small sets with
 * blocking, jitter and two criticality levels whose answers are derived by hand
 * in docs/realtime.md ("Worked examples").
 */
#include "keel/analysis.h"
#include "keel_test.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static keel_analysis_set set_of(const keel_analysis_task *tasks, unsigned n,
                                const keel_analysis_section *sections, unsigned sn,
                                unsigned resources) {
    return (keel_analysis_set){tasks, n, sections, sn, resources};
}

KEEL_TEST(rta_reproduces_burns_wellings_rate_monotonic_example) {
    /* a: T=7 C=3, b: T=12 C=3, c: T=20 C=5; priorities rate monotonic. */
    keel_analysis_task t[] = {
        {.name = "a", .priority = 3, .period = 7, .wcet = 3},
        {.name = "b", .priority = 2, .period = 12, .wcet = 3},
        {.name = "c", .priority = 1, .period = 20, .wcet = 5},
    };
    keel_analysis_result r[3];
    keel_analysis_set s = set_of(t, 3, NULL, 0, 0);
    CHECK_OK(keel_analysis_rta(&s, r));
    CHECK_EQ(r[0].response, 3);
    CHECK_EQ(r[1].response, 6);
    CHECK_EQ(r[2].response, 20);
    for (unsigned i = 0; i < 3; i++) {
        CHECK(r[i].schedulable);
        CHECK(r[i].converged);
        CHECK_EQ(r[i].blocking, 0);
        CHECK_EQ(r[i].blocking_task, KEEL_ANALYSIS_NONE);
    }
}

KEEL_TEST(rta_reproduces_burns_wellings_deadline_monotonic_example) {
    keel_analysis_task t[] = {
        {.name = "a", .period = 20, .deadline = 5, .wcet = 3},
        {.name = "b", .period = 15, .deadline = 7, .wcet = 3},
        {.name = "c", .period = 10, .deadline = 10, .wcet = 4},
        {.name = "d", .period = 20, .deadline = 20, .wcet = 3},
    };
    CHECK_OK(keel_analysis_assign_dm(t, 4));
    CHECK_EQ(t[0].priority, 4);
    CHECK_EQ(t[1].priority, 3);
    CHECK_EQ(t[2].priority, 2);
    CHECK_EQ(t[3].priority, 1);
    keel_analysis_result r[4];
    keel_analysis_set s = set_of(t, 4, NULL, 0, 0);
    CHECK_OK(keel_analysis_rta(&s, r));
    CHECK_EQ(r[0].response, 3);
    CHECK_EQ(r[1].response, 6);
    CHECK_EQ(r[2].response, 10);
    CHECK_EQ(r[3].response, 20);
    for (unsigned i = 0; i < 4; i++)
        CHECK(r[i].schedulable);
}

KEEL_TEST(rta_charges_srp_blocking_from_lower_priority_sections) {
    /* H (T=10 C=2) and L (T=40 C=10) share R: H for 1, L for 3. M (T=20 C=4)
     * uses nothing but still sits below R's ceiling. B_H = B_M = 3, B_L = 0;
     * R_H = 5, R_M = 9, R_L = 18 (docs/realtime.md). */
    keel_analysis_task t[] = {
        {.name = "H", .priority = 3, .period = 10, .wcet = 2},
        {.name = "M", .priority = 2, .period = 20, .wcet = 4},
        {.name = "L", .priority = 1, .period = 40, .wcet = 10},
    };
    keel_analysis_section sec[] = {{.task = 0, .resource = 0, .length = 1},
                                   {.task = 2, .resource = 0, .length = 3}};
    keel_analysis_result r[3];
    keel_analysis_set s = set_of(t, 3, sec, 2, 1);
    unsigned ceiling[1];
    CHECK_OK(keel_analysis_ceilings(&s, ceiling));
    CHECK_EQ(ceiling[0], 3);
    CHECK_OK(keel_analysis_rta(&s, r));
    CHECK_EQ(r[0].blocking, 3);
    CHECK_EQ(r[0].blocking_task, 2);
    CHECK_EQ(r[0].blocking_resource, 0);
    CHECK_EQ(r[1].blocking, 3);
    CHECK_EQ(r[2].blocking, 0);
    CHECK_EQ(r[0].response, 5);
    CHECK_EQ(r[1].response, 9);
    CHECK_EQ(r[2].response, 18);
}

KEEL_TEST(rta_blocking_ignores_resources_whose_ceiling_is_below_the_task) {
    /* R1 is shared by M and L only: its ceiling (M) is below H, so H is never
     * blocked by it; M is. */
    keel_analysis_task t[] = {
        {.priority = 3, .period = 10, .wcet = 1},
        {.priority = 2, .period = 20, .wcet = 2},
        {.priority = 1, .period = 50, .wcet = 8},
    };
    keel_analysis_section sec[] = {{.task = 1, .resource = 0, .length = 1},
                                   {.task = 2, .resource = 0, .length = 5}};
    keel_analysis_result r[3];
    keel_analysis_set s = set_of(t, 3, sec, 2, 1);
    CHECK_OK(keel_analysis_rta(&s, r));
    CHECK_EQ(r[0].blocking, 0);
    CHECK_EQ(r[0].response, 1);
    CHECK_EQ(r[1].blocking, 5);
    CHECK_EQ(r[1].response, 8); /* w = 2 + 5 + ceil(w/10)*1: 7 -> 8 -> 8 */
}

KEEL_TEST(rta_adds_release_jitter_of_the_task_and_of_its_interferers) {
    /* A: T=10 C=3 J=2; B: T=30 C=6 J=1. R_A = 3 + 2 = 5.
     * B: w = 6 + ceil((w + 2)/10)*3: 9 -> 12 -> 12 (ceil(14/10)=2, 6+6=12), R_B = 13. */
    keel_analysis_task t[] = {
        {.priority = 2, .period = 10, .wcet = 3, .jitter = 2},
        {.priority = 1, .period = 30, .wcet = 6, .jitter = 1},
    };
    keel_analysis_result r[2];
    keel_analysis_set s = set_of(t, 2, NULL, 0, 0);
    CHECK_OK(keel_analysis_rta(&s, r));
    CHECK_EQ(r[0].response, 5);
    CHECK_EQ(r[1].response, 13);
}

KEEL_TEST(rta_reports_the_first_window_past_the_deadline_as_unschedulable) {
    /* U = 0.5 + 0.6 > 1: the lower task can never finish in time. */
    keel_analysis_task t[] = {
        {.priority = 2, .period = 10, .wcet = 5},
        {.priority = 1, .period = 20, .wcet = 12},
    };
    keel_analysis_result r[2];
    keel_analysis_set s = set_of(t, 2, NULL, 0, 0);
    CHECK_OK(keel_analysis_rta(&s, r));
    CHECK(r[0].schedulable);
    CHECK(!r[1].schedulable);
    CHECK(!r[1].converged);
    CHECK(r[1].response > 20);
    keel_analysis_utilisation u;
    CHECK_OK(keel_analysis_utilisation_bounds(&s, &u));
    CHECK(u.overloaded);
}

KEEL_TEST(rta_amc_bound_counts_lo_tasks_only_up_to_the_mode_change) {
    /* L (LO): T=10 C=2, highest; H1 (HI): T=20 C=4 C(HI)=8; H2 (HI): T=50 C=5
     * C(HI)=10. Derivation in docs/realtime.md:
     *   H1: R(LO) = 4+2 = 6; R(HI) = 8 + ceil(6/10)*2 = 10.
     *   H2: R(LO): w = 5 + ceil(w/10)*2 + ceil(w/20)*4: 11 -> 13 -> 13;
     *       R(HI): w = 10 + ceil(13/10)*2 + ceil(w/20)*8: 22 -> 30 -> 30. */
    keel_analysis_task t[] = {
        {.name = "L", .priority = 3, .period = 10, .wcet = 2, .criticality = KEEL_CRIT_LO},
        {.name = "H1",
         .priority = 2,
         .period = 20,
         .wcet = 4,
         .wcet_hi = 8,
         .criticality = KEEL_CRIT_HI},
        {.name = "H2",
         .priority = 1,
         .period = 50,
         .wcet = 5,
         .wcet_hi = 10,
         .criticality = KEEL_CRIT_HI},
    };
    keel_analysis_result r[3];
    keel_analysis_set s = set_of(t, 3, NULL, 0, 0);
    CHECK_OK(keel_analysis_rta(&s, r));
    CHECK_EQ(r[0].response, 2);
    CHECK_EQ(r[0].response_hi, 0);
    CHECK_EQ(r[1].response, 6);
    CHECK_EQ(r[1].response_hi, 10);
    CHECK_EQ(r[2].response, 13);
    CHECK_EQ(r[2].response_hi, 30);
    for (unsigned i = 0; i < 3; i++)
        CHECK(r[i].schedulable);
}

KEEL_TEST(utilisation_bounds_match_liu_layland_and_the_hyperbolic_bound) {
    keel_analysis_task t[] = {
        {.priority = 3, .period = 10, .wcet = 2},
        {.priority = 2, .period = 20, .wcet = 5},
        {.priority = 1, .period = 40, .wcet = 10},
    };
    keel_analysis_set s = set_of(t, 3, NULL, 0, 0);
    keel_analysis_utilisation u;
    CHECK_OK(keel_analysis_utilisation_bounds(&s, &u));
    CHECK(u.total > 0.6999 && u.total < 0.7001);
    CHECK(u.liu_layland > 0.7797 && u.liu_layland < 0.7798); /* 3 (2^(1/3) - 1) = 0.77976 */
    CHECK(u.liu_layland_ok);
    CHECK(u.hyperbolic > 1.8749 && u.hyperbolic < 1.8751); /* 1.2 * 1.25 * 1.25 */
    CHECK(u.hyperbolic_ok);
    CHECK(!u.overloaded);
}

KEEL_TEST(deadline_monotonic_breaks_ties_by_index) {
    keel_analysis_task t[] = {
        {.period = 10, .deadline = 8}, {.period = 20, .deadline = 8}, {.period = 5}};
    CHECK_OK(keel_analysis_assign_dm(t, 3));
    CHECK_EQ(t[2].priority, 3);
    CHECK_EQ(t[0].priority, 2);
    CHECK_EQ(t[1].priority, 1);
    CHECK_STATUS(keel_analysis_assign_dm(NULL, 3), KEEL_EINVAL);
    CHECK_STATUS(keel_analysis_assign_dm(t, 0), KEEL_EINVAL);
}

KEEL_TEST(check_refuses_malformed_sets) {
    keel_analysis_result r[2];
    keel_analysis_task dup[] = {{.priority = 1, .period = 10, .wcet = 1},
                                {.priority = 1, .period = 20, .wcet = 1}};
    keel_analysis_set s = set_of(dup, 2, NULL, 0, 0);
    CHECK_STATUS(keel_analysis_rta(&s, r), KEEL_EINVAL);

    keel_analysis_task late[] = {{.priority = 1, .period = 10, .deadline = 11, .wcet = 1}};
    s = set_of(late, 1, NULL, 0, 0);
    CHECK_STATUS(keel_analysis_check(&s), KEEL_EINVAL);

    keel_analysis_task zero[] = {{.priority = 1, .period = 0, .wcet = 1}};
    s = set_of(zero, 1, NULL, 0, 0);
    CHECK_STATUS(keel_analysis_check(&s), KEEL_EINVAL);

    keel_analysis_task jit[] = {{.priority = 1, .period = 10, .wcet = 1, .jitter = 10}};
    s = set_of(jit, 1, NULL, 0, 0);
    CHECK_STATUS(keel_analysis_check(&s), KEEL_EINVAL);

    keel_analysis_task hi[] = {
        {.priority = 1, .period = 10, .wcet = 4, .wcet_hi = 3, .criticality = KEEL_CRIT_HI}};
    s = set_of(hi, 1, NULL, 0, 0);
    CHECK_STATUS(keel_analysis_check(&s), KEEL_EINVAL);

    keel_analysis_task ok[] = {{.priority = 1, .period = 10, .wcet = 2}};
    keel_analysis_section long_sec[] = {{.task = 0, .resource = 0, .length = 3}};
    s = set_of(ok, 1, long_sec, 1, 1);
    CHECK_STATUS(keel_analysis_check(&s), KEEL_EINVAL);
    keel_analysis_section bad_res[] = {{.task = 0, .resource = 1, .length = 1}};
    s = set_of(ok, 1, bad_res, 1, 1);
    CHECK_STATUS(keel_analysis_check(&s), KEEL_EINVAL);
    keel_analysis_section bad_task[] = {{.task = 1, .resource = 0, .length = 1}};
    s = set_of(ok, 1, bad_task, 1, 1);
    CHECK_STATUS(keel_analysis_check(&s), KEEL_EINVAL);
    CHECK_STATUS(keel_analysis_check(NULL), KEEL_EINVAL);
    s = set_of(ok, 0, NULL, 0, 0);
    CHECK_STATUS(keel_analysis_check(&s), KEEL_EINVAL);
    s = set_of(ok, 1, NULL, 0, 0);
    CHECK_OK(keel_analysis_check(&s));
}

KEEL_TEST(rta_saturates_instead_of_wrapping) {
    keel_analysis_task t[] = {
        {.priority = 2, .period = UINT64_MAX / 2, .wcet = UINT64_MAX / 4},
        {.priority = 1, .period = UINT64_MAX, .wcet = UINT64_MAX / 2},
    };
    keel_analysis_result r[2];
    keel_analysis_set s = set_of(t, 2, NULL, 0, 0);
    CHECK_OK(keel_analysis_rta(&s, r));
    CHECK(r[0].schedulable);
    CHECK_EQ(r[0].response, UINT64_MAX / 4);
    CHECK(r[1].response >= UINT64_MAX / 4 + UINT64_MAX / 2);
}

KEEL_TEST_MAIN()

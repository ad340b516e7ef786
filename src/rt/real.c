/*
 * The executive on Linux: one thread per task, pinned to one CPU, SCHED_FIFO
 * at fifo_base + rank when permitted, releases at absolute CLOCK_MONOTONIC
 * times computed as epoch + offset + k T (so they cannot drift), budgets as
 * a wall-clock timer per task that checks the thread's CPU time when it fires.
 *
 * Why not a CPU-time timer: Linux checks those on the scheduler tick, so they
 * fire up to a tick (1 to 10 ms) late. A CLOCK_MONOTONIC timer armed for the
 * remaining budget cannot fire before the budget is used (CPU time never runs
 * faster than wall time); when it fires, the handler reads the thread's CPU
 * clock and, if the job was preempted meanwhile, re-arms for what remains.
 * Programming that timer costs a few microseconds per job in a VM (the
 * hypervisor traps it), so KEEL_RT_TICK_BUDGETS offers the CPU-time timer
 * instead: about a microsecond per job, enforcement up to a tick late.
 *
 * The budget timer and the executive's stop and suspend requests all arrive as
 * one real-time signal (keel_rt_config.signal) on the task's own thread; the
 * handler tells them apart by si_code (SI_TIMER for the budget). A throttled or
 * suspended job waits inside the handler, on the spot where it ran out: on a
 * clock_nanosleep until its next release, or on its semaphore until the mode
 * returns to LO. Both are async-signal-safe. While the job holds a resource,
 * or runs inside keel_rt_lock/unlock, the handler only records the request;
 * the outermost unlock carries it out.
 *
 * Degraded mode (no SCHED_FIFO): the same code, with threads time-shared by
 * the kernel. Priorities no longer order execution, so keel_rt_lock falls back
 * on its wait (see resource rules below) to keep mutual exclusion and freedom
 * from deadlock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "rt/internal.h"

#define DEFAULT_FIFO_BASE  10
#define DEFAULT_STACK_SIZE (256u * 1024u)
#define NS_PER_S           1000000000ull

static __thread rt_task *self;

static uint64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static struct timespec timespec_of(uint64_t ns) {
    return (struct timespec){.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)};
}

uint64_t rt_real_now(const keel_rt *rt) {
    uint64_t now = monotonic_ns();
    return now > rt->epoch_ns ? now - rt->epoch_ns : 0;
}

static bool stopping(const keel_rt *rt) {
    return atomic_load_explicit(&rt->stopping, memory_order_acquire);
}

static keel_criticality mode_of(const keel_rt *rt) {
    return (keel_criticality)atomic_load_explicit(&rt->mode, memory_order_acquire);
}

/* Sleeps until executive time `when`; returns early only when stopping. */
static void sleep_until(const keel_rt *rt, uint64_t when) {
    /* An instant already past: no system call. (Linux would still arm a timer
     * and wake the thread from its interrupt, tens of microseconds in a VM.) */
    if (rt->epoch_ns + when <= monotonic_ns())
        return;
    struct timespec ts = timespec_of(rt->epoch_ns + when);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stopping(rt))
        ;
}

/* ---- budgets ---- */

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void set_timer(rt_task *t, uint64_t ns) {
    struct itimerspec its = {.it_value = timespec_of(ns == 0 ? 1 : ns)};
    timer_settime(t->timer, 0, &its, NULL);
}

/* Opens a budget window of `ns` of this thread's CPU time. */
static void arm_budget(rt_task *t, uint64_t ns) {
    if (!t->timer_ok || ns == 0)
        return;
    t->budget_cpu_start = thread_cpu_ns();
    t->budget_len = ns;
    set_timer(t, ns);
}

/* CPU time left in the window (0: used up). */
static uint64_t budget_left(const rt_task *t) {
    uint64_t used = thread_cpu_ns() - t->budget_cpu_start;
    return used < t->budget_len ? t->budget_len - used : 0;
}

static void disarm_budget(rt_task *t) {
    if (!t->timer_ok)
        return;
    struct itimerspec its = {0};
    timer_settime(t->timer, 0, &its, NULL);
    t->budget_len = 0;
}

/* A LO job out of budget: not runnable until its next release, then a fresh
 * budget. Runs in the signal handler or after the outermost unlock. */
static void throttle_wait(keel_rt *rt, rt_task *t) {
    if (stopping(rt))
        return; /* the job finishes: stop waits for it */
    rt_count(&t->stats.throttles);
    uint64_t now = rt_real_now(rt);
    uint64_t m = (now - (now < t->release ? now : t->release)) / t->cfg.period + 1;
    sleep_until(rt, t->release + m * t->cfg.period);
    arm_budget(t, t->cfg.wcet);
}

/* A LO job in HI mode: waits until the mode returns to LO (or stop). Its
 * budget window is frozen meanwhile. */
static void park(keel_rt *rt, rt_task *t) {
    bool had_budget = t->timer_ok && t->budget_len != 0;
    uint64_t left = had_budget ? budget_left(t) : 0;
    disarm_budget(t);
    atomic_store(&t->parked, true);
    while (mode_of(rt) == KEEL_CRIT_HI && !stopping(rt))
        sem_wait(&t->wake); /* EINTR and stale posts just loop */
    atomic_store(&t->parked, false);
    if (had_budget)
        arm_budget(t, left > 0 ? left : 1);
}

static void enter_hi_mode(keel_rt *rt) {
    int expected = KEEL_CRIT_LO;
    if (!atomic_compare_exchange_strong(&rt->mode, &expected, KEEL_CRIT_HI))
        return;
    atomic_fetch_add_explicit(&rt->mode_switches_hi, 1, memory_order_relaxed);
    /* Every LO job in progress must stop running now. */
    for (unsigned i = 0; i < rt->task_count; i++) {
        rt_task *o = &rt->tasks[i];
        if (o->cfg.criticality == KEEL_CRIT_LO && atomic_load(&o->real_active) && o->thread_started)
            pthread_kill(o->thread, rt->signal);
    }
}

static void leave_hi_mode(keel_rt *rt) {
    int expected = KEEL_CRIT_HI;
    if (!atomic_compare_exchange_strong(&rt->mode, &expected, KEEL_CRIT_LO))
        return;
    atomic_fetch_add_explicit(&rt->mode_switches_lo, 1, memory_order_relaxed);
    for (unsigned i = 0; i < rt->task_count; i++) {
        rt_task *o = &rt->tasks[i];
        if (o->cfg.criticality == KEEL_CRIT_LO && atomic_exchange(&o->parked, false))
            sem_post(&o->wake);
    }
}

static void budget_expired(keel_rt *rt, rt_task *t) {
    if (!atomic_load(&t->real_active))
        return; /* the job ended as the timer fired */
    if (t->cfg.criticality == KEEL_CRIT_HI) {
        if (mode_of(rt) == KEEL_CRIT_LO) {
            enter_hi_mode(rt);
            if (t->wcet_hi > t->cfg.wcet) {
                arm_budget(t, t->wcet_hi - t->cfg.wcet);
                return;
            }
        }
        if (!t->overran) {
            t->overran = true;
            rt_count(&t->stats.budget_overruns);
        }
        return;
    }
    if (!t->overran) {
        t->overran = true;
        rt_count(&t->stats.budget_overruns);
    }
    if (t->held_count > 0 || t->in_executive)
        atomic_store(&t->budget_out, true);
    else
        throttle_wait(rt, t);
}

/* One pass of the handler's work: a budget expiry (timer) or a signal that
 * asks a LO job to stop for HI mode. */
static void handle_signal(keel_rt *rt, rt_task *t, bool timer) {
    if (timer) {
        /* Counted even while stopping: the job in progress still overran. */
        if (!atomic_load(&t->real_active) || t->budget_len == 0) {
            /* a stale expiry: the job is over */
        } else if (budget_left(t) > 0) {
            set_timer(t, budget_left(t)); /* preempted meanwhile: not used up yet */
        } else {
            budget_expired(rt, t);
        }
    }
    if (stopping(rt)) {
        return; /* a stop signal is only here to interrupt a sleep */
    }
    /* HI mode began (this signal, or one that arrived while this handler
     * slept in a throttle): a LO job stops until the mode is LO again. */
    if (t->cfg.criticality == KEEL_CRIT_LO && mode_of(rt) == KEEL_CRIT_HI &&
        atomic_load(&t->real_active)) {
        if (t->held_count > 0 || t->in_executive)
            atomic_store(&t->suspend_pending, true);
        else
            park(rt, t);
    }
}

/*
 * The handler runs with its signal unblocked (SA_NODEFER), so that a stop or
 * a mode change reaches a thread that sleeps in it (throttled or parked). It
 * never nests its work: a signal that arrives while it acts only interrupts
 * the sleep (and notes a budget expiry), and the outer handler loops until
 * nothing is left. Nesting the work instead let a throttle, a park and the
 * budget armed on leaving it call each other without end, one stack frame
 * deeper each time.
 */
static void on_signal(int signo, siginfo_t *info, void *context) {
    (void)signo;
    (void)context;
    rt_task *t = self;
    if (t == NULL)
        return;
    keel_rt *rt = t->rt;
    int saved = errno;
    if (t->in_handler) {
        if (info->si_code == SI_TIMER)
            t->timer_missed = 1;
        errno = saved;
        return;
    }
    t->in_handler = 1;
    bool timer = info->si_code == SI_TIMER;
    for (;;) {
        handle_signal(rt, t, timer);
        /* Leave with the signal blocked (sigreturn restores the mask), so
         * that none arrives between the last check and the return. */
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, rt->signal);
        pthread_sigmask(SIG_BLOCK, &block, NULL);
        if (!t->timer_missed)
            break;
        t->timer_missed = 0;
        pthread_sigmask(SIG_UNBLOCK, &block, NULL);
        timer = true;
    }
    t->in_handler = 0;
    errno = saved;
}

/* The signal handler is shared by every executive using the same signal. */
static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned handler_users[65];
static struct sigaction handler_saved[65];

static keel_status install_handler(int signo) {
    if (signo <= 0 || signo > 64)
        return KEEL_EINVAL;
    keel_status st = KEEL_OK;
    pthread_mutex_lock(&handler_lock);
    if (handler_users[signo] == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_signal;
        /* SA_NODEFER: a stop request must reach a thread that sleeps in the
         * handler (throttled or suspended) to end its sleep. */
        sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        if (sigaction(signo, &sa, &handler_saved[signo]) != 0)
            st = KEEL_ESYSTEM;
    }
    if (st == KEEL_OK)
        handler_users[signo]++;
    pthread_mutex_unlock(&handler_lock);
    return st;
}

static void remove_handler(int signo) {
    pthread_mutex_lock(&handler_lock);
    if (handler_users[signo] > 0 && --handler_users[signo] == 0)
        sigaction(signo, &handler_saved[signo], NULL);
    pthread_mutex_unlock(&handler_lock);
}

/* ---- resources ---- */

/* The rank t runs at: its own, or the highest ceiling it holds. */
static unsigned level_of(const keel_rt *rt, const rt_task *t) {
    unsigned rank = t->rank;
    for (unsigned h = 0; h < t->held_count; h++)
        if (rt->resources[t->held[h]].ceiling_rank > rank)
            rank = rt->resources[t->held[h]].ceiling_rank;
    return rank;
}

static void set_fifo_level(const keel_rt *rt, const rt_task *t) {
    if (rt->fifo)
        pthread_setschedprio(pthread_self(),
                             rt->fifo_max - (int)(rt->task_count - 1 - level_of(rt, t)));
}

/* May t take a resource now? Only if it is above every ceiling that another
 * task holds. Under SRP on one CPU this is always true when asked; elsewhere
 * waiting for it is what makes deadlock impossible (docs/realtime.md). */
static bool may_lock(const keel_rt *rt, const rt_task *t) {
    for (unsigned k = t->rank; k < rt->task_count; k++) {
        if (rt->held_at_rank[k] == 0)
            continue;
        unsigned own = 0;
        for (unsigned h = 0; h < t->held_count; h++)
            own += rt->resources[t->held[h]].ceiling_rank == k;
        if (rt->held_at_rank[k] > own)
            return false;
    }
    return true;
}

keel_status rt_real_lock(keel_rt *rt, rt_task *t, unsigned resource) {
    if (t->held_count == KEEL_RT_MAX_SECTIONS)
        return KEEL_EINVAL;
    for (unsigned h = 0; h < t->held_count; h++)
        if (t->held[h] == resource)
            return KEEL_EINVAL;
    rt_resource *r = &rt->resources[resource];
    t->in_executive = 1;
    /* Raise first: from here no task at or below the ceiling can preempt us.
     * Never lower: a nested resource may have a lower ceiling than one held. */
    if (rt->fifo && r->ceiling_rank > level_of(rt, t))
        pthread_setschedprio(pthread_self(),
                             rt->fifo_max - (int)(rt->task_count - 1 - r->ceiling_rank));
    pthread_mutex_lock(&rt->gate);
    if (atomic_load_explicit(&r->holder, memory_order_relaxed) != RT_NONE || !may_lock(rt, t)) {
        atomic_fetch_add_explicit(&rt->lock_waits, 1, memory_order_relaxed);
        rt->gate_waiters++;
        while (atomic_load_explicit(&r->holder, memory_order_relaxed) != RT_NONE ||
               !may_lock(rt, t))
            pthread_cond_wait(&rt->gate_free, &rt->gate);
        rt->gate_waiters--;
    }
    atomic_store_explicit(&r->holder, t->index, memory_order_relaxed);
    rt->held_at_rank[r->ceiling_rank]++;
    t->held[t->held_count++] = resource;
    pthread_mutex_unlock(&rt->gate);
    t->in_executive = 0;
    rt_trace(rt, KEEL_RT_EV_LOCK, t->index, t->job_index, resource, KEEL_OK);
    return KEEL_OK;
}

/* After the outermost unlock: what the signal handler deferred. */
static void deferred_actions(keel_rt *rt, rt_task *t) {
    if (t->held_count != 0 || t->in_executive)
        return;
    if (atomic_exchange(&t->budget_out, false))
        throttle_wait(rt, t);
    if (atomic_exchange(&t->suspend_pending, false) ||
        (t->cfg.criticality == KEEL_CRIT_LO && mode_of(rt) == KEEL_CRIT_HI))
        park(rt, t);
}

static void release_resource(keel_rt *rt, rt_task *t) {
    unsigned resource = t->held[t->held_count - 1];
    rt_resource *r = &rt->resources[resource];
    pthread_mutex_lock(&rt->gate);
    atomic_store_explicit(&r->holder, RT_NONE, memory_order_relaxed);
    rt->held_at_rank[r->ceiling_rank]--;
    t->held_count--;
    if (rt->gate_waiters > 0)
        pthread_cond_broadcast(&rt->gate_free);
    pthread_mutex_unlock(&rt->gate);
    set_fifo_level(rt, t);
}

keel_status rt_real_unlock(keel_rt *rt, rt_task *t, unsigned resource) {
    if (t->held_count == 0 || t->held[t->held_count - 1] != resource)
        return KEEL_EINVAL;
    t->in_executive = 1;
    release_resource(rt, t);
    t->in_executive = 0;
    rt_trace(rt, KEEL_RT_EV_UNLOCK, t->index, t->job_index, resource, KEEL_OK);
    deferred_actions(rt, t);
    return KEEL_OK;
}

/* ---- jobs ---- */

/* Runs the job released at executive time r (job number k). */
static void run_job(keel_rt *rt, rt_task *t, uint64_t r, uint64_t k) {
    uint64_t start = rt_real_now(rt);
    if (t->cfg.criticality == KEEL_CRIT_LO && mode_of(rt) == KEEL_CRIT_HI) {
        rt_count(&t->stats.dropped);
        rt_trace(rt, KEEL_RT_EV_DROP, t->index, k, RT_NONE, KEEL_OK);
        t->prev_end = start;
        return;
    }
    t->job_index = k;
    t->release = r;
    t->abs_deadline = r + t->deadline;
    t->start_time = start;
    t->overran = false;
    rt_count(&t->stats.released);
    rt_record(&t->stats.latency, start > r ? start - r : 0);
    rt_trace(rt, KEEL_RT_EV_RELEASE, t->index, k, RT_NONE, KEEL_OK);
    if (t->cfg.criticality == KEEL_CRIT_HI)
        atomic_fetch_add(&rt->hi_active, 1);
    atomic_store(&t->real_active, true);
    arm_budget(t, mode_of(rt) == KEEL_CRIT_HI ? t->wcet_hi : t->cfg.wcet);

    /* Preemptions: the kernel counts this thread's involuntary switches. */
    struct rusage usage;
    long switches = getrusage(RUSAGE_THREAD, &usage) == 0 ? usage.ru_nivcsw : -1;
    keel_rt_job job = {rt, t->index, k, r, t->abs_deadline, start, t->cfg.arg};
    keel_status st = rt_invoke_job(rt, t, &job);
    if (switches >= 0 && getrusage(RUSAGE_THREAD, &usage) == 0 && usage.ru_nivcsw > switches)
        rt_add(&t->stats.preemptions, (uint64_t)(usage.ru_nivcsw - switches));

    disarm_budget(t);
    atomic_store(&t->real_active, false);
    while (t->held_count > 0) /* a failed job may have left resources held */
        release_resource(rt, t);
    atomic_store(&t->budget_out, false);
    atomic_store(&t->suspend_pending, false);
    uint64_t end = rt_real_now(rt);
    t->prev_end = end;
    if (t->overran)
        rt_trace(rt, KEEL_RT_EV_BUDGET_OVERRUN, t->index, k, RT_NONE, KEEL_OK);
    if (st == KEEL_OK) {
        rt_count(&t->stats.completed);
        rt_record(&t->stats.response, end - r);
        rt_trace(rt, KEEL_RT_EV_COMPLETE, t->index, k, RT_NONE, KEEL_OK);
        if (end > t->abs_deadline) {
            rt_count(&t->stats.deadline_misses);
            rt_trace(rt, KEEL_RT_EV_DEADLINE_MISS, t->index, k, RT_NONE, KEEL_OK);
        }
    } else {
        rt_count(&t->stats.failed);
        rt_trace(rt, KEEL_RT_EV_FAIL, t->index, k, RT_NONE, st);
    }
    if (t->cfg.criticality == KEEL_CRIT_HI && atomic_fetch_sub(&rt->hi_active, 1) == 1 &&
        mode_of(rt) == KEEL_CRIT_HI)
        leave_hi_mode(rt);
}

static void periodic_loop(keel_rt *rt, rt_task *t) {
    uint64_t k = 0;
    while (!stopping(rt)) {
        uint64_t r = t->cfg.offset + k * t->cfg.period;
        sleep_until(rt, r);
        if (stopping(rt))
            break;
        run_job(rt, t, r, k);
        /* The next release not before the end of this job: any passed are skipped. */
        uint64_t next = k + 1;
        if (t->prev_end > t->cfg.offset + next * t->cfg.period) {
            uint64_t late = (t->prev_end - t->cfg.offset) / t->cfg.period;
            if (t->cfg.offset + late * t->cfg.period < t->prev_end)
                late++;
            for (uint64_t s = next; s < late; s++) {
                rt_count(&t->stats.skipped);
                rt_trace(rt, KEEL_RT_EV_SKIP, t->index, s, RT_NONE, KEEL_OK);
            }
            next = late;
        }
        k = next;
    }
}

static void sporadic_loop(keel_rt *rt, rt_task *t) {
    uint64_t k = 0, last = 0;
    bool released_before = false;
    while (!stopping(rt)) {
        while (atomic_load(&t->arrivals_pending) == 0 && !stopping(rt))
            sem_wait(&t->wake);
        if (stopping(rt))
            break;
        uint64_t a = atomic_load(&t->arrival_time);
        uint64_t n = atomic_exchange(&t->arrivals_pending, 0);
        for (uint64_t c = 1; c < n; c++) {
            rt_count(&t->stats.coalesced);
            rt_trace(rt, KEEL_RT_EV_COALESCE, t->index, k, RT_NONE, KEEL_OK);
        }
        uint64_t r = a;
        if (released_before && a < last + t->cfg.period) {
            r = last + t->cfg.period;
            rt_count(&t->stats.deferred);
            rt_trace(rt, KEEL_RT_EV_DEFER, t->index, k, RT_NONE, KEEL_OK);
        }
        released_before = true;
        last = r;
        if (k > 0 && r < t->prev_end) {
            /* released while the previous job was still running: skipped */
            rt_count(&t->stats.skipped);
            rt_trace(rt, KEEL_RT_EV_SKIP, t->index, k++, RT_NONE, KEEL_OK);
            continue;
        }
        sleep_until(rt, r);
        if (stopping(rt))
            break;
        run_job(rt, t, r, k++);
    }
}

keel_status rt_real_trigger(keel_rt *rt, rt_task *t) {
    uint64_t now = rt_real_now(rt);
    if (atomic_load(&t->arrivals_pending) == 0)
        atomic_store(&t->arrival_time, now);
    atomic_fetch_add(&t->arrivals_pending, 1);
    sem_post(&t->wake);
    return KEEL_OK;
}

static void *task_main(void *arg) {
    rt_task *t = arg;
    keel_rt *rt = t->rt;
    self = t;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = rt->signal;
    sev._sigev_un._tid = gettid();
    t->timer_ok = t->cfg.wcet != 0 &&
                  timer_create(rt->cfg.flags & KEEL_RT_TICK_BUDGETS ? CLOCK_THREAD_CPUTIME_ID
                                                                    : CLOCK_MONOTONIC,
                               &sev, &t->timer) == 0;
    pthread_mutex_lock(&rt->gate);
    if (t->cfg.wcet != 0 && !t->timer_ok)
        rt->setup_failed = true;
    rt->threads_ready++;
    pthread_cond_broadcast(&rt->go_cond);
    while (rt->go == 0)
        pthread_cond_wait(&rt->go_cond, &rt->gate);
    int go = rt->go;
    pthread_mutex_unlock(&rt->gate);
    if (go > 0) {
        if (t->cfg.kind == KEEL_RT_PERIODIC)
            periodic_loop(rt, t);
        else
            sporadic_loop(rt, t);
    }
    if (t->timer_ok)
        timer_delete(t->timer);
    t->timer_ok = false;
    self = NULL;
    /* Leave SCHED_FIFO before the thread exits. Thread teardown (TLS
     * destructors, the C library's and a sanitizer's per-thread caches) may
     * take a lock with a spin-and-yield loop; at a FIFO priority on the one CPU
     * the executive owns, a yield never lets the lower-priority holder of that
     * lock run, and the executive's stop would wait forever. */
    struct sched_param other = {.sched_priority = 0};
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &other);
    return NULL;
}

/* ---- start and stop ---- */

static keel_status create_thread(keel_rt *rt, rt_task *t, bool fifo) {
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return KEEL_ESYSTEM;
    keel_status st = KEEL_OK;
    pthread_attr_setstacksize(&attr, rt->cfg.stack_size ? rt->cfg.stack_size : DEFAULT_STACK_SIZE);
    if (rt->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((unsigned)rt->cpu, &set);
        pthread_attr_setaffinity_np(&attr, sizeof set, &set);
    }
    if (fifo) {
        struct sched_param sp = {.sched_priority =
                                     rt->fifo_max - (int)(rt->task_count - 1 - t->rank)};
        pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
        pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
        pthread_attr_setschedparam(&attr, &sp);
    }
    int err = pthread_create(&t->thread, &attr, task_main, t);
    pthread_attr_destroy(&attr);
    if (err == EPERM)
        st = KEEL_EACCESS; /* caller falls back to degraded mode */
    else if (err != 0)
        st = KEEL_ESYSTEM;
    else
        t->thread_started = true;
    return st;
}

static void join_all(keel_rt *rt) {
    for (unsigned i = 0; i < rt->task_count; i++) {
        rt_task *t = &rt->tasks[i];
        if (!t->thread_started)
            continue;
        /* A thread may be in a sleep or a semaphore wait: interrupt it until it leaves. */
        for (;;) {
            pthread_kill(t->thread, rt->signal);
            sem_post(&t->wake);
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_nsec += 10 * 1000 * 1000;
            if (deadline.tv_nsec >= (long)NS_PER_S) {
                deadline.tv_sec++;
                deadline.tv_nsec -= (long)NS_PER_S;
            }
            if (pthread_timedjoin_np(t->thread, NULL, &deadline) == 0)
                break;
        }
        t->thread_started = false;
    }
}

static void release_sync(keel_rt *rt) {
    for (unsigned i = 0; i < rt->task_count; i++)
        if (rt->tasks[i].sem_ok) {
            sem_destroy(&rt->tasks[i].wake);
            rt->tasks[i].sem_ok = false;
        }
    if (rt->sync_ok) {
        pthread_cond_destroy(&rt->go_cond);
        pthread_cond_destroy(&rt->gate_free);
        pthread_mutex_destroy(&rt->gate);
        rt->sync_ok = false;
    }
}

keel_status rt_real_start(keel_rt *rt) {
    rt->signal = rt->cfg.signal != 0 ? rt->cfg.signal : SIGRTMIN + 3;
    int base = rt->cfg.fifo_base != 0 ? rt->cfg.fifo_base : DEFAULT_FIFO_BASE;
    int fifo_top = sched_get_priority_max(SCHED_FIFO);
    if (base < 1 || base + (int)rt->task_count - 1 > fifo_top)
        return KEEL_EINVAL;
    rt->fifo_max = base + (int)rt->task_count - 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    rt->cpu = rt->cfg.cpu;
    if (rt->cpu < KEEL_RT_CPU_UNPINNED || (rt->cpu >= 0 && rt->cpu >= cpus))
        return KEEL_EINVAL;
    if (install_handler(rt->signal) != KEEL_OK)
        return KEEL_ESYSTEM;
    /* Priority inheritance: a task preempted while it holds the gate (a few
     * instructions of bookkeeping) runs at the priority of whoever waits for it. */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
    int merr = pthread_mutex_init(&rt->gate, &ma);
    pthread_mutexattr_destroy(&ma);
    if (merr != 0)
        goto err_handler;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&rt->gate_free, &ca) != 0) {
        pthread_mutex_destroy(&rt->gate);
        goto err_handler;
    }
    if (pthread_cond_init(&rt->go_cond, &ca) != 0) {
        pthread_cond_destroy(&rt->gate_free);
        pthread_mutex_destroy(&rt->gate);
        goto err_handler;
    }
    pthread_condattr_destroy(&ca);
    rt->sync_ok = true;
    for (unsigned i = 0; i < rt->task_count; i++) {
        if (sem_init(&rt->tasks[i].wake, 0, 0) != 0)
            goto err_sync;
        rt->tasks[i].sem_ok = true;
    }

    rt->memory_locked = false;
    if (!(rt->cfg.flags & KEEL_RT_NO_MLOCK)) {
        if (mlockall(MCL_CURRENT | MCL_FUTURE) == 0)
            rt->memory_locked = true;
        else
            rt_warn(rt,
                    "mlockall failed (%s): memory is not locked, so page faults may add "
                    "latency (raise RLIMIT_MEMLOCK or grant CAP_IPC_LOCK)",
                    strerror(errno));
    }

    rt->go = 0;
    rt->threads_ready = 0;
    rt->setup_failed = false;
    atomic_store(&rt->stopping, false);
    bool fifo = !(rt->cfg.flags & KEEL_RT_NO_FIFO);
    if (!fifo)
        rt_warn(rt, "KEEL_RT_NO_FIFO: running in DEGRADED mode on purpose (no SCHED_FIFO): "
                    "priorities and the analysed response times do not hold");
    for (unsigned i = 0; i < rt->task_count; i++) {
        keel_status st = create_thread(rt, &rt->tasks[i], fifo);
        if (st == KEEL_EACCESS && fifo && i == 0) {
            fifo = false;
            rt_warn(rt,
                    "SCHED_FIFO is not permitted: running in DEGRADED mode. The kernel "
                    "time-shares the task threads, so priorities and the analysed response "
                    "times do not hold; budgets, mode changes, mutual exclusion, deadlock "
                    "freedom and measurement still do. Run as root, grant CAP_SYS_NICE, or "
                    "allow real-time priorities (ulimit -r %d) for the guarantees.",
                    rt->fifo_max);
            st = create_thread(rt, &rt->tasks[i], false);
        }
        if (st != KEEL_OK)
            goto err_threads;
    }
    rt->fifo = fifo;

    pthread_mutex_lock(&rt->gate);
    while (rt->threads_ready < rt->task_count)
        pthread_cond_wait(&rt->go_cond, &rt->gate);
    if (rt->setup_failed) {
        pthread_mutex_unlock(&rt->gate);
        goto err_threads;
    }
    /* Time 0: a millisecond from now, so every first release is in the future. */
    rt->epoch_ns = monotonic_ns() + 1000000u;
    rt->go = 1;
    pthread_cond_broadcast(&rt->go_cond);
    pthread_mutex_unlock(&rt->gate);
    return KEEL_OK;

err_threads:
    pthread_mutex_lock(&rt->gate);
    rt->go = -1;
    pthread_cond_broadcast(&rt->go_cond);
    pthread_mutex_unlock(&rt->gate);
    join_all(rt);
    if (rt->memory_locked)
        munlockall();
    rt->memory_locked = false;
err_sync:
    release_sync(rt);
err_handler:
    remove_handler(rt->signal);
    return KEEL_ESYSTEM;
}

keel_status rt_real_stop(keel_rt *rt) {
    atomic_store_explicit(&rt->stopping, true, memory_order_release);
    join_all(rt);
    release_sync(rt);
    remove_handler(rt->signal);
    if (rt->memory_locked)
        munlockall();
    return KEEL_OK;
}

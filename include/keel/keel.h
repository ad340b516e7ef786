/*
 * keel/keel.h - everything keel offers, in one include.
 *
 *   keel/status.h   keel_status, the error codes every module returns
 *   keel/mem.h      deterministic memory: pools, arenas, the O(1) heap
 *   keel/domain.h   protection domains, rrefs, boxes, contained faults, recovery,
 *                   whole-domain snapshots and rollback
 *   keel/label.h    information-flow labels: the lattice
 *   keel/ifc.h      information-flow control: labels on domains, boxes, sinks
 *   keel/ckpt.h     checkpoints of object graphs, persisted checkpoints
 *   keel/analysis.h schedulability: response-time analysis, SRP blocking, AMC
 *   keel/rt.h       the real-time executive: tasks, SRP resources, budgets, simulation
 */
#ifndef KEEL_KEEL_H
#define KEEL_KEEL_H

#include "keel/ckpt.h"
#include "keel/analysis.h"
#include "keel/domain.h"
#include "keel/ifc.h"
#include "keel/label.h"
#include "keel/mem.h"
#include "keel/rt.h"
#include "keel/status.h"

#endif /* KEEL_KEEL_H */

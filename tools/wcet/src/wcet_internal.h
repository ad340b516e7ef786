/*
 * wcet_internal.h - keel-wcet's internal types, shared by the library's
 * modules (image, decode, cfg, loops, value, bounds, smt, rank, recursion,
 * ipet, stack, facts, analysis, report). The public API is include/keel_wcet.h.
 */
#ifndef WCET_INTERNAL_H
#define WCET_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel_wcet.h"

/* ---------- small utilities ---------- */
void *wc_xcalloc(size_t n, size_t size);
void *wc_xrealloc(void *p, size_t n, size_t size);
char *wc_xstrdup(const char *s);
char *wc_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define WC_GROW(arr, count, cap)                                       \
    do {                                                               \
        if ((count) >= (cap)) {                                        \
            (cap) = (cap) ? (cap)*2 : 8;                               \
            (arr) = wc_xrealloc((arr), (size_t)(cap), sizeof(*(arr))); \
        }                                                              \
    } while (0)

/* A list of owned strings (reasons, assumptions). */
typedef struct wc_strs {
    char **v;
    int n, cap;
} wc_strs;
void wc_strs_add(wc_strs *s, char *owned);
void wc_strs_addf(wc_strs *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool wc_strs_has(const wc_strs *s, const char *str);
void wc_strs_merge(wc_strs *dst, const wc_strs *src);
void wc_strs_free(wc_strs *s);

/* ---------- the ELF image ---------- */
typedef struct wc_symbol {
    char *name;
    uint64_t addr, size;
    bool func;
} wc_symbol;

typedef struct wc_section {
    char *name;
    uint64_t addr, size, offset;
    bool exec, alloc, write, nobits;
} wc_section;

typedef struct wc_plt {
    uint64_t addr; /* the stub's address */
    char *name;    /* the external symbol it jumps to */
} wc_plt;

typedef struct wc_got {
    uint64_t addr; /* a GOT slot */
    char *name;
} wc_got;

typedef struct wc_line {
    uint64_t addr;
    const char *file; /* interned in image->files */
    int line;
} wc_line;

typedef struct wc_image {
    char *path;
    unsigned char *data; /* the whole file */
    size_t size;
    void *elf;   /* Elf * */
    void *dwarf; /* Dwarf * or NULL */
    int fd;
    bool pie, shared;
    wc_section *secs;
    int nsecs;
    wc_symbol *syms; /* sorted by address, function symbols only */
    int nsyms, capsyms_;
    wc_plt *plts;
    int nplts, capplts_;
    wc_got *gots;
    int ngots, capgots_;
    wc_line *lines; /* sorted by address */
    int nlines, caplines;
    char **files;
    int nfiles, capfiles;
    uint64_t text_lo, text_hi; /* the range of executable sections */
} wc_image;

int wc_image_open(wc_image *img, const char *path, char *err, size_t errlen);
int wc_image_open_mem(wc_image *img, const void *data, size_t size, char *err, size_t errlen);
void wc_image_close(wc_image *img);
/* Bytes at a virtual address (within one allocated, file-backed section). */
const unsigned char *wc_image_bytes(const wc_image *img, uint64_t addr, size_t *avail);
bool wc_image_is_exec(const wc_image *img, uint64_t addr);
bool wc_image_is_readonly(const wc_image *img, uint64_t addr);
const wc_symbol *wc_image_symbol(const wc_image *img, const char *name);
const wc_symbol *wc_image_symbol_at(const wc_image *img, uint64_t addr); /* exact start */
const wc_symbol *wc_image_symbol_containing(const wc_image *img, uint64_t addr);
const char *wc_image_plt_name(const wc_image *img, uint64_t addr);
const char *wc_image_got_name(const wc_image *img, uint64_t addr);
/* Source line of an address; file NULL when unknown. */
int wc_image_line(const wc_image *img, uint64_t addr, const char **file);
/* Formal parameter names of the function at addr (DWARF), in order; count or -1. */
int wc_image_params(const wc_image *img, uint64_t addr, char names[][64], bool isfloat[],
                    int sizes[], int max);

/* ---------- decoded instructions ---------- */
enum {
    WC_R_NONE = -1,
    WC_RAX,
    WC_RCX,
    WC_RDX,
    WC_RBX,
    WC_RSP,
    WC_RBP,
    WC_RSI,
    WC_RDI,
    WC_R8,
    WC_R9,
    WC_R10,
    WC_R11,
    WC_R12,
    WC_R13,
    WC_R14,
    WC_R15,
    WC_RIP,
    WC_NREGS = 16
};

typedef enum wc_kind {
    WC_I_NORMAL,
    WC_I_JMP,   /* direct unconditional */
    WC_I_JCC,   /* direct conditional (incl. jrcxz, loop) */
    WC_I_CALL,  /* direct call */
    WC_I_ICALL, /* indirect call */
    WC_I_IJMP,  /* indirect jump */
    WC_I_RET,
    WC_I_HALT /* hlt, ud2, int3: execution stops here */
} wc_kind;

/* Condition codes (as in the x86 encoding). */
typedef enum wc_cc {
    WC_CC_NONE = -1,
    WC_CC_O = 0,
    WC_CC_NO,
    WC_CC_B,
    WC_CC_AE,
    WC_CC_E,
    WC_CC_NE,
    WC_CC_BE,
    WC_CC_A,
    WC_CC_S,
    WC_CC_NS,
    WC_CC_P,
    WC_CC_NP,
    WC_CC_L,
    WC_CC_GE,
    WC_CC_LE,
    WC_CC_G,
    WC_CC_RCXZ /* jrcxz/jecxz */,
    WC_CC_LOOP /* loop: --rcx != 0 */
} wc_cc;

typedef enum wc_optype { WC_OP_NONE, WC_OP_REG, WC_OP_IMM, WC_OP_MEM } wc_optype;

typedef struct wc_op {
    uint8_t type; /* wc_optype */
    uint8_t size; /* bytes */
    int8_t reg;   /* WC_R*, for REG (WC_R_NONE for non-GPRs) */
    bool high8;   /* ah, bh, ch, dh */
    int64_t imm;
    int8_t base, index; /* WC_R*, WC_RIP, or WC_R_NONE */
    uint8_t scale;
    bool seg; /* fs/gs override */
    int64_t disp;
} wc_op;

/* Instructions capstone 4 does not decode, recognised by keel-wcet itself
 * (decode.c): their ids lie past capstone's. */
enum {
    WC_INS_OWN = 0x10000,
    WC_INS_RDPKRU, /* 0f 01 ee: eax = PKRU, edx = 0 (both zero-extended); reads ecx (0) */
    WC_INS_WRPKRU, /* 0f 01 ef: PKRU = eax; reads eax, ecx and edx (0); writes no register */
};

typedef struct wc_insn {
    uint64_t addr;
    uint8_t size;
    uint8_t kind; /* wc_kind */
    int8_t cc;    /* for JCC, CMOVcc, SETcc */
    uint8_t nops;
    bool rep;       /* rep-prefixed string instruction */
    bool string_op; /* movs, stos, lods, cmps, scas */
    bool writes_flags;
    unsigned id;           /* capstone instruction id, or WC_INS_* */
    uint64_t target;       /* direct branch/call target */
    uint32_t regs_written; /* bit mask of GPRs written (explicit and implicit) */
    uint32_t regs_read;
    wc_op ops[4];
    char text[96];
} wc_insn;

typedef struct wc_decoder {
    void *cs; /* csh */
    const wc_image *img;
    /* open-addressing cache address -> insn */
    uint64_t *keys;
    wc_insn **vals;
    size_t cap, count;
} wc_decoder;

int wc_decoder_init(wc_decoder *d, const wc_image *img, char *err, size_t errlen);
void wc_decoder_free(wc_decoder *d);
/* The instruction at addr, or NULL (not executable, undecodable). */
const wc_insn *wc_decode(wc_decoder *d, uint64_t addr);
const char *wc_reg_name(int r, int size);
int wc_reg_parse(const char *name); /* "rdi" -> WC_RDI */

/* ---------- control flow ---------- */
typedef enum wc_term {
    WC_T_FALL, /* falls into the next block */
    WC_T_JMP,
    WC_T_JCC,
    WC_T_RET,
    WC_T_CALL,     /* a call that returns; falls through after */
    WC_T_TAILCALL, /* jmp to another function */
    WC_T_NORETURN, /* call to a function that never returns */
    WC_T_SWITCH,   /* indirect jump through a resolved table */
    WC_T_IJMP,     /* indirect jump not resolved */
    WC_T_HALT
} wc_term;

typedef enum wc_callkind {
    WC_CALL_NONE,
    WC_CALL_INTERNAL,
    WC_CALL_EXTERNAL,
    WC_CALL_INDIRECT
} wc_callkind;

typedef struct wc_block {
    uint64_t start, end; /* end: address after the last instruction */
    const wc_insn **insns;
    int n, capn;
    uint8_t term; /* wc_term */
    int *succ;    /* block indices */
    int nsucc, capsucc;
    int *pred;
    int npred, cappred;
    /* the call or tail call this block ends with */
    uint8_t callkind;
    uint64_t callee;     /* address (internal) */
    const char *extname; /* external name (PLT/GOT), or NULL */
    int loop;            /* innermost loop, -1 if none */
    int rpo;             /* reverse post-order number */
    int idom;
} wc_block;

typedef struct wc_loop {
    int header;
    int parent; /* enclosing loop or -1 */
    int depth;
    bool *in; /* in[b]: block b belongs to the loop (incl. inner loops) */
    int *blocks;
    int nblocks;
    int *latches; /* blocks with a back edge to the header */
    int nlatches;
} wc_loop;

typedef struct wc_cfg {
    uint64_t entry;
    const wc_symbol *sym;
    char *name;
    wc_block *blocks;
    int nblocks, capblocks;
    wc_loop *loops;
    int nloops;
    bool irreducible;
    wc_strs irreducible_where;
    bool noreturn;             /* no path reaches a return or a returning tail call */
    wc_strs problems;          /* decode failures etc. */
    uint64_t *switch_resolved; /* addresses of indirect jumps resolved as tables */
    int nswitch, capswitch;
    uint64_t **switch_targets;
    int *switch_ntargets;
} wc_cfg;

struct wc_analyzer;
int wc_cfg_build(struct wc_analyzer *an, uint64_t entry, wc_cfg *cfg);
void wc_cfg_free(wc_cfg *cfg);
int wc_cfg_block_of(const wc_cfg *cfg, uint64_t addr);
void wc_cfg_loops(wc_cfg *cfg);
bool wc_known_noreturn(const char *name);

/* ---------- value analysis ---------- */
typedef enum wc_base { WC_B_NONE, WC_B_SP, WC_B_ARG0 /* + register index */ } wc_base_t;

/* A value: base + offset, offset in [lo, hi] with offset = rem (mod m) (m = 0:
 * exact, m = 1: no congruence). w: the width in bits of the signed view
 * (8, 16, 32, 64) for base NONE; based values are 64-bit. top: nothing known. */
typedef struct wc_val {
    bool top;
    bool zx; /* width < 64 in a register: the upper bits are zero */
    uint8_t w;
    int16_t base;
    int64_t lo, hi;
    uint64_t m, r;
    int32_t sym; /* nonzero: value = symbol sym + sc, modulo 2^symw (the low symw bits) */
    int64_t sc;
    uint8_t symw;
} wc_val;
/* sign-extend the low w bits */
static inline int64_t wc_sext(uint64_t x, int w) {
    return w >= 64 ? (int64_t)x : (int64_t)(x << (64 - w)) >> (64 - w);
}
/* symbols: the entry value of register r read at 64 bits (1 + 2r) or 32 bits (2 + 2r) */
#define WC_SYM64(r) (1 + 2 * (r))
#define WC_SYM32(r) (2 + 2 * (r))

#define WC_MAX_SLOTS 48
typedef struct wc_slot {
    int64_t off; /* relative to the entry stack pointer */
    uint8_t size;
    wc_val v;
} wc_slot;

typedef struct wc_flags {
    bool valid;
    uint8_t kind;  /* 1 cmp a,b ; 2 test a,a ; 3 arith result (compare result with 0) ; 4 sub a, b
                      (== cmp) */
    uint8_t w;     /* bits */
    wc_op a, b;    /* operands as in the instruction */
    wc_val va, vb; /* their values before the instruction */
    wc_val res;    /* for kind 3: the result */
} wc_flags;

typedef struct wc_state {
    bool reached;
    wc_val reg[WC_NREGS];
    wc_slot slot[WC_MAX_SLOTS];
    int nslots;
    int64_t esc_lo; /* slots at or above this offset may be reached through pointers */
    wc_flags fl;
} wc_state;

typedef struct wc_vctx {
    /* input: entry assumptions */
    wc_val args[WC_NREGS]; /* entry value of each register (top = unknown) */
} wc_vctx;

typedef struct wc_vres {
    wc_state *in; /* per block entry */
    int nblocks;
    bool ok;
} wc_vres;

/* Analyse cfg from its entry with ctx, or (start >= 0) from block start with
 * state init, over the blocks where allowed[b] (NULL: all), ignoring edges to
 * `skip_to` from blocks in skip_from (back edges of a loop; NULL: none). */
void wc_value_run(struct wc_analyzer *an, const wc_cfg *cfg, const wc_vctx *ctx, int start,
                  const wc_state *init, const bool *allowed, int skip_to, const bool *skip_from,
                  wc_vres *out);
void wc_vres_free(wc_vres *r);
/* State just before instruction i of block b (replaying the block). */
void wc_value_at(struct wc_analyzer *an, const wc_cfg *cfg, const wc_vres *r, int b, int i,
                 wc_state *st);
void wc_value_step(struct wc_analyzer *an, wc_state *st, const wc_insn *in);
void wc_state_join(wc_state *acc, const wc_state *s);
void wc_value_edge(const wc_state *src, const wc_block *from, int to_block_start_is_taken,
                   wc_state *dst);
wc_val wc_val_top(int w);
wc_val wc_val_const(int64_t c, int w);
wc_val wc_val_range(int64_t lo, int64_t hi, int w);
wc_val wc_read_op(const wc_state *st, const wc_op *op, uint64_t next_ip);
bool wc_op_slot(const wc_state *st, const wc_op *op, int64_t *off);
bool wc_val_signed(const wc_val *v, int w, int64_t *lo, int64_t *hi);
bool wc_val_unsigned(const wc_val *v, int w, uint64_t *lo, uint64_t *hi);
void wc_val_str(const wc_val *v, char *buf, size_t n);

/* ---------- loop bounds ---------- */
typedef struct wc_lbound {
    bool bounded;
    uint64_t max;   /* back edges per entry */
    bool has_total; /* a total over the enclosing loop's entry (triangular) */
    int total_loop; /* the enclosing loop that total refers to */
    uint64_t total;
    char *how; /* how it was derived, or why not */
    bool annotated;
    int line; /* source line of the header */
    const char *file;
} wc_lbound;

/* The value analysis' state at loop l's header when the loop is entered (the
 * join of the edges into the header from outside it); false when none is
 * reached. */
bool wc_loop_entry_state(struct wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l,
                         wc_state *out);

struct wc_fres;
void wc_loop_bounds(struct wc_analyzer *an, const wc_cfg *cfg, const wc_vctx *ctx,
                    const wc_vres *vr, wc_lbound *out, struct wc_fres *fr);

/* ---------- SMT ---------- */
/* Largest number of back edges of loop l per entry that Z3 shows reachable
 * (bounded search up to limit); false when it cannot decide. */
bool wc_smt_loop_bound(struct wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l,
                       uint64_t limit, uint64_t *max, char **how);
/* What the bound of a loop says about its registers, for the loops nested in
 * it: at the header, after k back edges (k <= kmax), each register in ivmask
 * holds its value at the loop's entry + k * step (in its low 32 bits only when
 * in iv32); with `test`, the exit test compares register areg, whose value at
 * the test is its header value + c, with register breg (or bconst when breg <
 * 0, unchanged in the loop) under rel (0 !=, reached exactly by steps of s;
 * 1 <, 2 <= toward the limit, without wrap-around), so the test continued in
 * every earlier iteration. */
typedef struct wc_ivfacts {
    bool valid;
    uint64_t kmax;
    uint32_t ivmask, iv32;
    int64_t step[WC_NREGS];
    bool test;
    int areg, breg, rel, w;
    bool uns;
    int64_t c, s, bconst;
} wc_ivfacts;

/* The largest distance D = B - A (A - B if s < 0), modulo 2^w, at the first
 * arrival at (pblock, instruction pstop) of loop l, over every path from the
 * function's entry: a loop around l is entered at its header in any iteration
 * (ivf, per loop, may say more of it: NULL when nothing), other loops are
 * crossed by forgetting what they write. rel 0: the
 * loop continues while A != B, and D must also be a multiple of |s|; rel 1:
 * while A < B (A > B for s < 0), rel 2: while A <= B (A >= B), signed or
 * unsigned, D counted only where the test continues, and (wrapchk) A cannot
 * wrap around before the test fails. False (why says why) when Z3 cannot
 * show D <= cap on every path. kdelta != 0: the largest D + k * kdelta
 * instead, k the iteration of l's parent (its header visits so far), for a
 * count that changes with the enclosing loop. hint (0: none): a likely
 * bound, tried first; when it holds it is the answer. */
bool wc_smt_max_distance(struct wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l,
                         int pblock, int pstop, const wc_op *aop, const wc_op *bop, int64_t bconst,
                         int w, int64_t s, int rel, bool uns, bool wrapchk, uint64_t cap,
                         const wc_ivfacts *ivf, int64_t kdelta, uint64_t hint, uint64_t *dmax,
                         const char **why);
/* Loop l's body is one path: does operand aop, read at (pblock, instruction
 * pstop), change by the same *step in every iteration (Z3, over two
 * consecutive iterations from any header state the value analysis allows)?
 * A step of 0: the same value in every iteration. */
bool wc_smt_step(struct wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l, int pblock,
                 int pstop, const wc_op *aop, int64_t *step);
/* Loop l has no inner loop and a bound follows from what Z3 proves of every
 * path from its header around to it (rank.c): a quantity that at least
 * halves (binary search), Euclid's recurrence (Lame's theorem), or a counter
 * that steps by a constant with a limit tested on some path. The bound in
 * back edges per entry; false when none follows (why in *how, or NULL). */
bool wc_rank_loop_bound(struct wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr, int l,
                        uint64_t *max, char **how);
/* Is the path (sequence of blocks, all outside loops) feasible? 1 yes, 0 no,
 * -1 unknown. */
int wc_smt_path_feasible(struct wc_analyzer *an, const wc_cfg *cfg, const wc_vres *vr,
                         const int *path, int n);

/* ---------- flow facts ---------- */
typedef enum wc_fact_kind {
    WC_F_LOOP,
    WC_F_RECURSION,
    WC_F_EXTERN,
    WC_F_EXCLUSIVE,
    WC_F_STACK,
    WC_F_ICALL
} wc_fact_kind;
#define WC_FACT_MAX_TARGETS 16
typedef struct wc_fact {
    uint8_t kind;
    char *func;     /* function (or external name for EXTERN) */
    char *where[2]; /* "file:line", "line" or "0xaddr" */
    uint64_t value; /* loop max / depth / cost */
    uint64_t stack; /* EXTERN: stack bytes; has_stack */
    bool has_stack;
    int srcline; /* line in the facts file */
    int used;
    bool optional; /* from --facts-optional: matching nothing is not an error */
    char *text;
    char *targets[WC_FACT_MAX_TARGETS]; /* ICALL: the functions it may reach */
    int ntargets;
} wc_fact;
typedef struct wc_facts {
    wc_fact *v;
    int n, cap;
    char *path;
} wc_facts;
int wc_facts_load(wc_facts *f, const char *path, char *err, size_t errlen);
void wc_facts_free(wc_facts *f);
bool wc_fact_matches(const wc_image *img, const char *where, uint64_t lo, uint64_t hi,
                     const uint64_t *addrs, int naddrs);

/* ---------- IPET ---------- */
typedef struct wc_ipet_extra {
    /* sum of counts of edges (from[i] -> to[i]) <= rhs */
    int nedges;
    int from[16], to[16];
    double rhs;
} wc_ipet_extra;

typedef struct wc_ipet_in {
    const wc_cfg *cfg;
    const double *cost;  /* per block (including callee cost) */
    const wc_lbound *lb; /* per loop */
    const wc_ipet_extra *extra;
    int nextra;
    const int (*excl)[2]; /* mutually exclusive block pairs */
    int nexcl;
    const bool *forbid; /* blocks that must not execute (may be NULL) */
} wc_ipet_in;

typedef struct wc_ipet_out {
    bool ok;
    double value;
    double *count;  /* per block */
    double *ecount; /* per block, per succ index: flattened [b][k] with offsets */
    int *eoff;
    char *why;
} wc_ipet_out;

int wc_ipet_solve(const wc_ipet_in *in, wc_ipet_out *out);
void wc_ipet_free(wc_ipet_out *o);

/* ---------- cost model ---------- */
/* The cost of one instruction, given the value-analysis state before it: a
 * bound, or false when none exists (why in `why`). The instruction model is
 * the only one today; a cycle model for an in-order core plugs in here. */
typedef struct wc_cost_model {
    const char *name;
    bool (*insn_cost)(const wc_insn *in, const wc_state *before, double *cost, char *why,
                      size_t whylen);
} wc_cost_model;
extern const wc_cost_model wc_cost_instructions;

/* ---------- analysis driver ---------- */
/* A call whose cost waits for the recursion's solve (recursion.c): the
 * functions of the caller's recursion cycle it may reach, and the largest
 * cost and stack of the targets outside the cycle (an indirect call's). */
typedef struct wc_defer {
    uint64_t *to;
    int n;
    bool has_fixed;
    double fixed;
    uint64_t fixed_stack;
} wc_defer;

typedef struct wc_fres {
    char *name;
    uint64_t addr;
    wc_vctx ctx;
    int status; /* keel_wcet_status */
    uint64_t bound;
    int stack_status;
    uint64_t stack;
    uint64_t frame;
    wc_strs reasons;
    wc_strs assumptions;
    wc_strs notes; /* derivations, infeasible paths */
    wc_cfg *cfg;
    wc_lbound *lb;
    double *counts; /* worst-case block counts */
    double *bcost;  /* block costs (with callees) */
    uint64_t infeasible_drop;
    int infeasible_excluded;
    bool in_progress;
    int next_same_entry; /* memo index of the next result for this entry, -1 */
    int recursion_depth_left;
    double seconds;
    /* recursion through other functions (recursion.c) */
    int component;   /* its strongly connected component of the call graph, -1 none */
    bool member;     /* analysed as a member of the component: calls into it deferred */
    wc_defer *defer; /* per block (members only) */
    bool *forbid;    /* per block: cannot run in this context (members only) */
    int (*excl)[2];  /* mutually exclusive block pairs (members only) */
    int nexcl;
    int64_t *depth_at;      /* per block: stack depth at its call, -1 none (members only) */
    uint64_t *callee_stack; /* per block: the stack of its callee outside the component */
    bool frame_ok;          /* its own frame is bounded */
    bool callees_stack_ok;  /* every callee outside the component has a stack bound */
} wc_fres;

struct wc_cost_model;
typedef struct wc_analyzer {
    wc_image *img;
    const struct wc_cost_model *cost;
    wc_decoder dec;
    keel_wcet_options opt;
    wc_facts facts;
    wc_fres **memo;
    int nmemo, capmemo;
    wc_cfg **cfgs;
    int ncfgs, capcfgs;
    /* entry address -> first cfg / memo index (open addressing) */
    uint64_t *hkeys;
    int *hcfg, *hmemo;
    size_t hcap, hcount;
    int depth;
    void *z3ctx;
    FILE *progress;
    int assume_used[KEEL_WCET_MAX_ASSUME];
    struct keel_wcet *libw[4]; /* the --lib shared objects, opened when first needed */
    bool libtried[4];
    void *callgraph; /* recursion.c's call graph and components */
} wc_analyzer;

wc_cfg *wc_get_cfg(wc_analyzer *an, uint64_t entry);
wc_fres *wc_analyze(wc_analyzer *an, uint64_t entry, const wc_vctx *ctx);
/* entry analysed as a member of its recursion cycle, for any arguments: its
 * own costs, the calls into the cycle left for wc_recursion_solve */
wc_fres *wc_analyze_member(wc_analyzer *an, uint64_t entry);

/* ---------- recursion through several functions (recursion.c) ---------- */
/* The strongly connected component of the call graph (direct calls, tail
 * calls, and the targets of `icall` facts) that holds entry, when it has more
 * than one function; -1 otherwise (a function that only calls itself is
 * direct recursion, handled by the driver). Computed once per function. */
int wc_call_component(wc_analyzer *an, uint64_t entry);
/* the functions of component c */
int wc_component_members(wc_analyzer *an, int c, const uint64_t **members);
/* The `icall` fact for the indirect call or jump that ends block b of cfg, or
 * NULL. */
wc_fact *wc_icall_fact(wc_analyzer *an, const wc_cfg *cfg, const wc_block *b);
/* fr (its own costs done, its calls into its component deferred): the bound
 * and stack bound over the component, cut by a `recursion F depth N` fact
 * for a function F that every cycle passes through. */
void wc_recursion_solve(wc_analyzer *an, wc_fres *fr);
void wc_recursion_free(wc_analyzer *an);
bool wc_function_noreturn(wc_analyzer *an, uint64_t entry);
const char *wc_block_where(wc_analyzer *an, const wc_block *b, char *buf, size_t n);

#endif /* WCET_INTERNAL_H */

/*
 * disasm.h - the basic blocks of the code of the running program, read from
 * `objdump -d` of the files it was loaded from (the executable, a module).
 *
 * The instruction counter (instr_count.c) uses them to stop once per basic
 * block instead of once per instruction. A block is a run of instructions
 * entered only at its first and left only after its last; `instructions` is
 * how many single steps executing it takes. Anything the decoder does not
 * understand exactly (indirect jumps, calls, rep-prefixed string instructions,
 * traps) makes its block DISASM_STEP: the counter single-steps through it.
 * Whole objects are decoded, not single functions: compilers jump between
 * functions (tail calls to static helpers, .cold parts and back), and a jump
 * target anywhere in the object must be known as a block start.
 */
#ifndef BENCH_ALLOC_DISASM_H
#define BENCH_ALLOC_DISASM_H

#include <stddef.h>
#include <stdint.h>

typedef enum disasm_kind {
    DISASM_FALL,   /* runs into the next block, at `next` */
    DISASM_JUMP,   /* ends with a direct jmp to `target` */
    DISASM_BRANCH, /* ends with a direct conditional jump: `target` or `next` */
    DISASM_RET,    /* ends with a plain ret (its address is `last`) */
    DISASM_STEP    /* ends with an instruction to single-step (at `last`) */
} disasm_kind;

typedef struct disasm_block {
    uintptr_t start; /* run-time address of the first instruction */
    uintptr_t last;  /* run-time address of the last instruction */
    uintptr_t target;
    uintptr_t next;
    uint32_t instructions;
    disasm_kind kind;
} disasm_block;

#define DISASM_OBJECTS_MAX 8

/* The blocks of every object added so far, sorted by start address. */
typedef struct disasm_code {
    disasm_block *blocks;
    size_t count;
    uintptr_t objects[DISASM_OBJECTS_MAX]; /* load biases of the objects added */
    size_t object_count;
} disasm_code;

/*
 * disasm_add_object: decodes the executable or shared object that contains
 * `address` in this process (found with dl_iterate_phdr; nothing happens if it
 * was added before) and adds its blocks to *code. Returns 0, or -1 with a
 * reason in err (objdump missing or failing, a jump into the middle of an
 * instruction, out of memory); *code is then unchanged.
 */
int disasm_add_object(disasm_code *code, const void *address, char *err, size_t errlen);

/* disasm_lookup: the block starting exactly at `address`, or NULL. O(log n). */
const disasm_block *disasm_lookup(const disasm_code *code, uintptr_t address);

/* disasm_release: frees the blocks. */
void disasm_release(disasm_code *code);

#endif /* BENCH_ALLOC_DISASM_H */

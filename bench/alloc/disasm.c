/*
 * disasm.c - basic blocks from `objdump -d` (disasm.h).
 *
 * objdump -d -w --no-show-raw-insn FILE prints each function as a header
 * "<address> <name>:" and lines "  <hex address>:\t<mnemonic> <operands>".
 * Link-time addresses become run-time ones by adding the object's load bias.
 * Leaders are function entries, every direct jump target and every instruction
 * after a control transfer; a block runs from a leader to the next leader,
 * control transfer or function end.
 */
#include "disasm.h"

#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- which file, at which bias ---- */

typedef struct object_query {
    uintptr_t address;
    uintptr_t bias;
    char path[4096];
    bool found;
} object_query;

static int find_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    object_query *q = data;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && q->address >= lo && q->address < lo + ph->p_memsz) {
            q->bias = info->dlpi_addr;
            q->found = true;
            if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0') {
                snprintf(q->path, sizeof q->path, "%s", info->dlpi_name);
            } else { /* the main program: objdump must get its real path */
                ssize_t n = readlink("/proc/self/exe", q->path, sizeof q->path - 1);
                q->path[n > 0 ? n : 0] = '\0';
            }
            return 1;
        }
    }
    return 0;
}

/* ---- running objdump ---- */

/* Runs argv and returns its standard output (NUL-terminated), or NULL. */
static char *capture(char *const argv[]) {
    int fds[2];
    if (pipe(fds) != 0) {
        return NULL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t length = 0, cap = 1 << 16;
    char *text = malloc(cap);
    while (text != NULL) {
        if (cap - length < 4096) {
            char *bigger = realloc(text, cap * 2);
            if (bigger == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            cap *= 2;
        }
        ssize_t n = read(fds[0], text + length, cap - length - 1);
        if (n <= 0) {
            break;
        }
        length += (size_t)n;
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (text == NULL || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(text);
        return NULL;
    }
    text[length] = '\0';
    return text;
}

/* ---- one instruction ---- */

typedef enum insn_kind { INSN_PLAIN, INSN_JUMP, INSN_BRANCH, INSN_RET, INSN_STEP } insn_kind;

typedef struct insn {
    uintptr_t address; /* run time */
    uintptr_t target;  /* run time, for INSN_JUMP and INSN_BRANCH */
    insn_kind kind;
} insn;

static bool is_one_of(const char *word, const char *const list[]) {
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(word, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Classifies the instruction text "mnemonic operands" (prefixes allowed). */
static insn_kind classify(const char *text, uintptr_t bias, uintptr_t *target) {
    static const char *const prefixes[] = {"lock", "notrack", "bnd",   "data16", "addr32",
                                           "cs",   "ds",      "es",    "ss",     "fs",
                                           "gs",   "rex",     "rex.W", NULL};
    static const char *const repeats[] = {"rep", "repz", "repe", "repnz", "repne", NULL};
    static const char *const traps[] = {"call",   "callq",  "lcall", "ljmp", "syscall", "sysenter",
                                        "int",    "int3",   "into",  "ud0",  "ud1",     "ud2",
                                        "hlt",    "iret",   "iretq", "lret", "retf",    "xbegin",
                                        "xabort", "sysret", "(bad)", NULL};
    static const char *const loops[] = {"loop", "loope", "loopne", "loopz", "loopnz", NULL};
    char buffer[256];
    snprintf(buffer, sizeof buffer, "%s", text);
    char *save = NULL;
    char *word = strtok_r(buffer, " \t", &save);
    bool repeated = false;
    while (word != NULL && (is_one_of(word, prefixes) || is_one_of(word, repeats))) {
        repeated = repeated || is_one_of(word, repeats);
        word = strtok_r(NULL, " \t", &save);
    }
    if (word == NULL) {
        return INSN_STEP;
    }
    char *operand = strtok_r(NULL, " \t", &save);
    bool is_ret =
        strcmp(word, "ret") == 0 || strcmp(word, "retq") == 0 || strcmp(word, "retn") == 0;
    if (is_ret) {
        return operand == NULL || operand[0] == '#' ? INSN_RET : INSN_STEP; /* ret $n: step */
    }
    if (repeated || is_one_of(word, traps)) {
        return INSN_STEP; /* a rep string instruction takes one step per iteration */
    }
    bool is_jump = strcmp(word, "jmp") == 0 || strcmp(word, "jmpq") == 0;
    if (word[0] == 'j' || is_one_of(word, loops)) {
        char *end = NULL;
        unsigned long long to = operand != NULL ? strtoull(operand, &end, 16) : 0;
        if (operand == NULL || operand[0] == '*' || end == operand || *end != '\0') {
            return INSN_STEP; /* indirect, or not understood */
        }
        *target = (uintptr_t)to + bias;
        return is_jump ? INSN_JUMP : INSN_BRANCH;
    }
    return INSN_PLAIN;
}

/* Parses the whole listing into instructions, in address order. Each
 * function (a "<name>:" header or a section start opens one) gets its own
 * number in `function`. Returns the number of instructions, or 0. */
static size_t parse_listing(char *text, uintptr_t bias, insn **out, uint32_t **function) {
    size_t count = 0, cap = 4096;
    insn *list = malloc(cap * sizeof *list);
    uint32_t *owner = malloc(cap * sizeof *owner);
    uint32_t current = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL && list != NULL && owner != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *end = NULL;
        unsigned long long address = strtoull(line, &end, 16);
        if (end != line && strncmp(end, " <", 2) == 0) { /* "0000000000001139 <name>:" */
            current++;
            continue;
        }
        if (strncmp(line, "Disassembly of section", 22) == 0) {
            current++;
            continue;
        }
        if (end == line || end[0] != ':' || end[1] != '\t') {
            continue; /* not an instruction ("...", blank, file header) */
        }
        if (count == cap) {
            insn *bigger = realloc(list, cap * 2 * sizeof *list);
            uint32_t *bigger_owner =
                bigger != NULL ? realloc(owner, cap * 2 * sizeof *owner) : NULL;
            if (bigger != NULL) {
                list = bigger;
            }
            if (bigger_owner == NULL) {
                break;
            }
            owner = bigger_owner;
            cap *= 2;
        }
        insn *i = &list[count];
        owner[count++] = current;
        i->address = (uintptr_t)address + bias;
        i->target = 0;
        i->kind = classify(end + 2, bias, &i->target);
    }
    if (list == NULL || owner == NULL || count == 0 || count == cap) {
        free(list);
        free(owner);
        return 0;
    }
    *out = list;
    *function = owner;
    return count;
}

/* Index of the instruction at `address`, or SIZE_MAX. */
static size_t index_of(const insn *list, size_t count, uintptr_t address) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (list[mid].address < address) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < count && list[lo].address == address ? lo : SIZE_MAX;
}

static int by_start(const void *a, const void *b) {
    uintptr_t x = ((const disasm_block *)a)->start, y = ((const disasm_block *)b)->start;
    return (x > y) - (x < y);
}

/* Splits the instructions into blocks, appended to blocks[*n]. */
static void make_blocks(const insn *list, const uint32_t *function, const bool *leader,
                        size_t count, disasm_block *blocks, size_t *n) {
    for (size_t i = 0; i < count;) {
        size_t j = i;
        while (list[j].kind == INSN_PLAIN && j + 1 < count && !leader[j + 1] &&
               function[j + 1] == function[j]) {
            j++;
        }
        bool has_next = j + 1 < count && function[j + 1] == function[j];
        disasm_block *b = &blocks[(*n)++];
        b->start = list[i].address;
        b->last = list[j].address;
        b->instructions = (uint32_t)(j - i + 1);
        b->target = list[j].target;
        b->next = has_next ? list[j + 1].address : 0;
        switch (list[j].kind) {
        case INSN_PLAIN:
            b->kind = has_next ? DISASM_FALL : DISASM_STEP;
            break;
        case INSN_JUMP:
            b->kind = DISASM_JUMP;
            break;
        case INSN_BRANCH:
            b->kind = has_next ? DISASM_BRANCH : DISASM_STEP;
            break;
        case INSN_RET:
            b->kind = DISASM_RET;
            break;
        default:
            b->kind = DISASM_STEP;
            break;
        }
        i = j + 1;
    }
}

/* ---- public ---- */

int disasm_add_object(disasm_code *code, const void *address, char *err, size_t errlen) {
    object_query q = {.address = (uintptr_t)address};
    dl_iterate_phdr(find_object, &q);
    if (!q.found) {
        snprintf(err, errlen, "no loaded object contains %p", address);
        return -1;
    }
    for (size_t i = 0; i < code->object_count; i++) {
        if (code->objects[i] == q.bias) {
            return 0;
        }
    }
    if (code->object_count == DISASM_OBJECTS_MAX) {
        snprintf(err, errlen, "too many objects");
        return -1;
    }
    char *argv[] = {"objdump", "-d", "-w", "--no-show-raw-insn", q.path, NULL};
    char *text = capture(argv);
    if (text == NULL) {
        snprintf(err, errlen, "`objdump -d %s` failed (is binutils installed?)", q.path);
        return -1;
    }
    insn *list = NULL;
    uint32_t *function = NULL;
    size_t count = parse_listing(text, q.bias, &list, &function);
    free(text);
    bool *leader = count > 0 ? calloc(count, sizeof *leader) : NULL;
    disasm_block *blocks = count > 0 ? malloc((code->count + count) * sizeof *blocks) : NULL;
    if (count == 0 || leader == NULL || blocks == NULL) {
        snprintf(err, errlen, "no code found in `objdump -d %s`, or out of memory", q.path);
        goto err;
    }
    for (size_t i = 1; i < count; i++) {
        if (list[i].address <= list[i - 1].address) { /* index_of needs address order */
            snprintf(err, errlen, "`objdump -d %s` lists code out of address order", q.path);
            goto err;
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (i == 0 || function[i] != function[i - 1]) {
            leader[i] = true;
        }
        if (list[i].kind != INSN_PLAIN && i + 1 < count) {
            leader[i + 1] = true;
        }
        if (list[i].kind == INSN_JUMP || list[i].kind == INSN_BRANCH) {
            uintptr_t t = list[i].target;
            size_t at = index_of(list, count, t);
            if (at != SIZE_MAX) {
                leader[at] = true;
            } else if (t >= list[0].address && t <= list[count - 1].address) {
                /* Outside any instruction listed: padding or data; the block
                 * that jumps there is single-stepped if it ever runs. */
                list[i].kind = INSN_STEP;
            }
        }
    }
    if (code->count > 0) {
        memcpy(blocks, code->blocks, code->count * sizeof *blocks);
    }
    size_t n = code->count;
    make_blocks(list, function, leader, count, blocks, &n);
    qsort(blocks, n, sizeof *blocks, by_start);
    free(code->blocks);
    code->blocks = blocks;
    code->count = n;
    code->objects[code->object_count++] = q.bias;
    free(list);
    free(function);
    free(leader);
    return 0;
err:
    free(list);
    free(function);
    free(leader);
    free(blocks);
    return -1;
}

const disasm_block *disasm_lookup(const disasm_code *code, uintptr_t address) {
    size_t lo = 0, hi = code->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (code->blocks[mid].start < address) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < code->count && code->blocks[lo].start == address ? &code->blocks[lo] : NULL;
}

void disasm_release(disasm_code *code) {
    free(code->blocks);
    memset(code, 0, sizeof *code);
}

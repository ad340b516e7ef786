/*
 * decode.c - capstone turned into keel-wcet's instruction records: kind
 * (jump, call, return...), direct targets, condition codes, operands in
 * general-purpose-register terms, and the registers each instruction writes
 * (explicitly or implicitly). Decoded instructions are cached by address.
 */
#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcet_internal.h"

static const char *const names64[] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                      "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
static const char *const names32[] = {"eax", "ecx", "edx",  "ebx",  "esp",  "ebp",  "esi",  "edi",
                                      "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};

const char *wc_reg_name(int r, int size) {
    if (r == WC_RIP)
        return "rip";
    if (r < 0 || r >= WC_NREGS)
        return "?";
    return size == 4 ? names32[r] : names64[r];
}

int wc_reg_parse(const char *name) {
    for (int i = 0; i < WC_NREGS; i++)
        if (strcmp(name, names64[i]) == 0 || strcmp(name, names32[i]) == 0)
            return i;
    return WC_R_NONE;
}

/* capstone register -> (gpr index, size in bytes, high8) */
static int map_reg(unsigned r, uint8_t *size, bool *high8) {
    *high8 = false;
    *size = 8;
    switch (r) {
#define R(a, b, c, d, e, f, idx) \
    case X86_REG_##a:            \
        *size = 8;               \
        return idx;              \
    case X86_REG_##b:            \
        *size = 4;               \
        return idx;              \
    case X86_REG_##c:            \
        *size = 2;               \
        return idx;              \
    case X86_REG_##d:            \
        *size = 1;               \
        return idx;
        R(RAX, EAX, AX, AL, 0, 0, WC_RAX)
        R(RCX, ECX, CX, CL, 0, 0, WC_RCX)
        R(RDX, EDX, DX, DL, 0, 0, WC_RDX)
        R(RBX, EBX, BX, BL, 0, 0, WC_RBX)
        R(RSP, ESP, SP, SPL, 0, 0, WC_RSP)
        R(RBP, EBP, BP, BPL, 0, 0, WC_RBP)
        R(RSI, ESI, SI, SIL, 0, 0, WC_RSI)
        R(RDI, EDI, DI, DIL, 0, 0, WC_RDI)
        R(R8, R8D, R8W, R8B, 0, 0, WC_R8)
        R(R9, R9D, R9W, R9B, 0, 0, WC_R9)
        R(R10, R10D, R10W, R10B, 0, 0, WC_R10)
        R(R11, R11D, R11W, R11B, 0, 0, WC_R11)
        R(R12, R12D, R12W, R12B, 0, 0, WC_R12)
        R(R13, R13D, R13W, R13B, 0, 0, WC_R13)
        R(R14, R14D, R14W, R14B, 0, 0, WC_R14)
        R(R15, R15D, R15W, R15B, 0, 0, WC_R15)
#undef R
    case X86_REG_AH:
        *size = 1;
        *high8 = true;
        return WC_RAX;
    case X86_REG_CH:
        *size = 1;
        *high8 = true;
        return WC_RCX;
    case X86_REG_DH:
        *size = 1;
        *high8 = true;
        return WC_RDX;
    case X86_REG_BH:
        *size = 1;
        *high8 = true;
        return WC_RBX;
    case X86_REG_RIP:
        return WC_RIP;
    default:
        return WC_R_NONE;
    }
}

static int cc_of(unsigned id) {
    switch (id) {
    case X86_INS_JO:
    case X86_INS_CMOVO:
    case X86_INS_SETO:
        return WC_CC_O;
    case X86_INS_JNO:
    case X86_INS_CMOVNO:
    case X86_INS_SETNO:
        return WC_CC_NO;
    case X86_INS_JB:
    case X86_INS_CMOVB:
    case X86_INS_SETB:
        return WC_CC_B;
    case X86_INS_JAE:
    case X86_INS_CMOVAE:
    case X86_INS_SETAE:
        return WC_CC_AE;
    case X86_INS_JE:
    case X86_INS_CMOVE:
    case X86_INS_SETE:
        return WC_CC_E;
    case X86_INS_JNE:
    case X86_INS_CMOVNE:
    case X86_INS_SETNE:
        return WC_CC_NE;
    case X86_INS_JBE:
    case X86_INS_CMOVBE:
    case X86_INS_SETBE:
        return WC_CC_BE;
    case X86_INS_JA:
    case X86_INS_CMOVA:
    case X86_INS_SETA:
        return WC_CC_A;
    case X86_INS_JS:
    case X86_INS_CMOVS:
    case X86_INS_SETS:
        return WC_CC_S;
    case X86_INS_JNS:
    case X86_INS_CMOVNS:
    case X86_INS_SETNS:
        return WC_CC_NS;
    case X86_INS_JP:
    case X86_INS_CMOVP:
    case X86_INS_SETP:
        return WC_CC_P;
    case X86_INS_JNP:
    case X86_INS_CMOVNP:
    case X86_INS_SETNP:
        return WC_CC_NP;
    case X86_INS_JL:
    case X86_INS_CMOVL:
    case X86_INS_SETL:
        return WC_CC_L;
    case X86_INS_JGE:
    case X86_INS_CMOVGE:
    case X86_INS_SETGE:
        return WC_CC_GE;
    case X86_INS_JLE:
    case X86_INS_CMOVLE:
    case X86_INS_SETLE:
        return WC_CC_LE;
    case X86_INS_JG:
    case X86_INS_CMOVG:
    case X86_INS_SETG:
        return WC_CC_G;
    case X86_INS_JRCXZ:
    case X86_INS_JECXZ:
        return WC_CC_RCXZ;
    case X86_INS_LOOP:
        return WC_CC_LOOP;
    default:
        return WC_CC_NONE;
    }
}

static bool is_string_op(unsigned id) {
    switch (id) {
    case X86_INS_STOSB:
    case X86_INS_STOSW:
    case X86_INS_STOSD:
    case X86_INS_STOSQ:
    case X86_INS_MOVSB:
    case X86_INS_MOVSW:
    case X86_INS_MOVSD:
    case X86_INS_MOVSQ:
    case X86_INS_LODSB:
    case X86_INS_LODSW:
    case X86_INS_LODSD:
    case X86_INS_LODSQ:
    case X86_INS_CMPSB:
    case X86_INS_CMPSW:
    case X86_INS_CMPSD:
    case X86_INS_CMPSQ:
    case X86_INS_SCASB:
    case X86_INS_SCASW:
    case X86_INS_SCASD:
    case X86_INS_SCASQ:
        return true;
    default:
        return false;
    }
}

int wc_decoder_init(wc_decoder *d, const wc_image *img, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    csh cs;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
        snprintf(err, errlen, "capstone: cannot open an x86-64 decoder");
        return -1;
    }
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    d->cs = (void *)(uintptr_t)cs;
    d->img = img;
    d->cap = 4096;
    d->keys = wc_xcalloc(d->cap, sizeof *d->keys);
    d->vals = wc_xcalloc(d->cap, sizeof *d->vals);
    return 0;
}

void wc_decoder_free(wc_decoder *d) {
    if (d->cs) {
        csh cs = (csh)(uintptr_t)d->cs;
        cs_close(&cs);
    }
    for (size_t i = 0; i < d->cap; i++)
        free(d->vals[i]);
    free(d->keys);
    free(d->vals);
    memset(d, 0, sizeof *d);
}

static size_t slot_of(const wc_decoder *d, uint64_t addr) {
    size_t h = (size_t)((addr * 0x9E3779B97F4A7C15ull) >> 17) & (d->cap - 1);
    while (d->vals[h] && d->keys[h] != addr)
        h = (h + 1) & (d->cap - 1);
    return h;
}

static void cache_put(wc_decoder *d, uint64_t addr, wc_insn *in) {
    if ((d->count + 1) * 2 > d->cap) {
        uint64_t *ok = d->keys;
        wc_insn **ov = d->vals;
        size_t oc = d->cap;
        d->cap *= 2;
        d->keys = wc_xcalloc(d->cap, sizeof *d->keys);
        d->vals = wc_xcalloc(d->cap, sizeof *d->vals);
        for (size_t i = 0; i < oc; i++)
            if (ov[i]) {
                size_t h = slot_of(d, ok[i]);
                d->keys[h] = ok[i];
                d->vals[h] = ov[i];
            }
        free(ok);
        free(ov);
    }
    size_t h = slot_of(d, addr);
    d->keys[h] = addr;
    d->vals[h] = in;
    d->count++;
}

static uint32_t reg_mask(const uint16_t *regs, uint8_t n) {
    uint32_t m = 0;
    for (int i = 0; i < n; i++) {
        uint8_t sz;
        bool h;
        int r = map_reg(regs[i], &sz, &h);
        if (r >= 0 && r < WC_NREGS)
            m |= 1u << r;
    }
    return m;
}

_Static_assert((unsigned)X86_INS_ENDING < (unsigned)WC_INS_OWN,
               "keel-wcet's own instruction ids overlap capstone's");

/*
 * The protection-key instructions (Intel SDM, RDPKRU and WRPKRU), which
 * capstone 4 does not know; keel's strict mode emits them on every call into a
 * domain. Each is one instruction (one unit of the cost model, as valgrind and
 * single-stepping count it), touches no flags and no memory:
 *   RDPKRU  0f 01 ee  eax = PKRU, edx = 0 (a 32-bit write: rax, rdx zero-extended);
 *                     ecx must be 0 (else #GP)
 *   WRPKRU  0f 01 ef  PKRU = eax; ecx and edx must be 0 (else #GP)
 * Recognised without prefixes only (compilers and `.byte` sequences emit none);
 * anything else goes to capstone.
 */
static wc_insn *decode_own(uint64_t addr, const unsigned char *p, size_t avail) {
    if (avail < 3 || p[0] != 0x0f || p[1] != 0x01 || (p[2] != 0xee && p[2] != 0xef))
        return NULL;
    wc_insn *in = wc_xcalloc(1, sizeof *in);
    in->addr = addr;
    in->size = 3;
    in->kind = WC_I_NORMAL;
    in->cc = WC_CC_NONE;
    in->nops = 0;
    uint32_t rax = 1u << WC_RAX, rcx = 1u << WC_RCX, rdx = 1u << WC_RDX;
    if (p[2] == 0xee) {
        in->id = WC_INS_RDPKRU;
        in->regs_read = rcx;
        in->regs_written = rax | rdx;
        snprintf(in->text, sizeof in->text, "rdpkru");
    } else {
        in->id = WC_INS_WRPKRU;
        in->regs_read = rax | rcx | rdx;
        in->regs_written = 0;
        snprintf(in->text, sizeof in->text, "wrpkru");
    }
    for (int i = 0; i < 4; i++)
        in->ops[i].reg = in->ops[i].base = in->ops[i].index = WC_R_NONE;
    return in;
}

const wc_insn *wc_decode(wc_decoder *d, uint64_t addr) {
    size_t h = slot_of(d, addr);
    if (d->vals[h])
        return d->vals[h];
    if (!wc_image_is_exec(d->img, addr))
        return NULL;
    size_t avail;
    const unsigned char *p = wc_image_bytes(d->img, addr, &avail);
    if (!p)
        return NULL;
    wc_insn *own = decode_own(addr, p, avail);
    if (own) {
        cache_put(d, addr, own);
        return own;
    }
    csh cs = (csh)(uintptr_t)d->cs;
    cs_insn *ci = NULL;
    size_t cnt = cs_disasm(cs, p, avail < 16 ? avail : 16, addr, 1, &ci);
    if (cnt != 1)
        return NULL;
    wc_insn *in = wc_xcalloc(1, sizeof *in);
    in->addr = addr;
    in->size = (uint8_t)ci->size;
    in->id = ci->id;
    in->cc = (int8_t)cc_of(ci->id);
    snprintf(in->text, sizeof in->text, "%.31s %.63s", ci->mnemonic, ci->op_str);
    cs_x86 *x = &ci->detail->x86;
    in->writes_flags =
        (x->eflags &
         (X86_EFLAGS_MODIFY_ZF | X86_EFLAGS_MODIFY_CF | X86_EFLAGS_MODIFY_SF |
          X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_ZF | X86_EFLAGS_SET_ZF | X86_EFLAGS_UNDEFINED_ZF |
          X86_EFLAGS_RESET_CF | X86_EFLAGS_SET_CF | X86_EFLAGS_UNDEFINED_CF)) != 0;
    bool rep = x->prefix[0] == X86_PREFIX_REP || x->prefix[0] == X86_PREFIX_REPNE;
    in->rep = rep && is_string_op(ci->id);
    in->nops = x->op_count > 4 ? 4 : x->op_count;
    for (int i = 0; i < in->nops; i++) {
        cs_x86_op *o = &x->operands[i];
        wc_op *w = &in->ops[i];
        w->size = o->size;
        w->reg = w->base = w->index = WC_R_NONE;
        if (o->type == X86_OP_REG) {
            w->type = WC_OP_REG;
            uint8_t sz;
            w->reg = (int8_t)map_reg(o->reg, &sz, &w->high8);
            if (w->reg == WC_RIP)
                w->reg = WC_R_NONE;
        } else if (o->type == X86_OP_IMM) {
            w->type = WC_OP_IMM;
            w->imm = o->imm;
        } else if (o->type == X86_OP_MEM) {
            uint8_t sz;
            bool hi;
            w->type = WC_OP_MEM;
            w->base =
                o->mem.base == X86_REG_INVALID ? WC_R_NONE : (int8_t)map_reg(o->mem.base, &sz, &hi);
            w->index = o->mem.index == X86_REG_INVALID ? WC_R_NONE
                                                       : (int8_t)map_reg(o->mem.index, &sz, &hi);
            if (o->mem.base != X86_REG_INVALID && w->base == WC_R_NONE)
                w->base = 99; /* a base we do not track */
            if (o->mem.index != X86_REG_INVALID && w->index == WC_R_NONE)
                w->index = 99;
            w->scale = (uint8_t)o->mem.scale;
            w->disp = o->mem.disp;
            w->seg = o->mem.segment != X86_REG_INVALID;
        }
    }
    cs_regs rr, ww;
    uint8_t nr = 0, nw = 0;
    if (cs_regs_access(cs, ci, rr, &nr, ww, &nw) == CS_ERR_OK) {
        in->regs_written = reg_mask(ww, nw);
        in->regs_read = reg_mask(rr, nr);
    } else {
        in->regs_written = 0xffff;
        in->regs_read = 0xffff;
    }
    /* compares write only the flags (capstone 4 reports some operands as written) */
    if (ci->id == X86_INS_CMP || ci->id == X86_INS_TEST || ci->id == X86_INS_BT ||
        ci->id == X86_INS_UCOMISD || ci->id == X86_INS_UCOMISS || ci->id == X86_INS_COMISD ||
        ci->id == X86_INS_COMISS || ci->id == X86_INS_PTEST)
        in->regs_written = 0;
    in->string_op = is_string_op(ci->id);
    for (int i = 0; i < in->nops; i++)
        if (in->ops[i].type == WC_OP_REG && in->ops[i].reg == WC_R_NONE)
            in->string_op = false; /* SSE movsd/cmpsd share the ids of the string instructions */
    in->rep = in->rep && in->string_op;
    /* kind */
    in->kind = WC_I_NORMAL;
    bool is_jump = false, is_call = false, is_ret = false;
    for (int g = 0; g < ci->detail->groups_count; g++) {
        uint8_t grp = ci->detail->groups[g];
        if (grp == CS_GRP_JUMP)
            is_jump = true;
        if (grp == CS_GRP_CALL)
            is_call = true;
        if (grp == CS_GRP_RET || grp == CS_GRP_IRET)
            is_ret = true;
    }
    if (is_ret)
        in->kind = WC_I_RET;
    else if (is_call) {
        if (in->nops == 1 && in->ops[0].type == WC_OP_IMM) {
            in->kind = WC_I_CALL;
            in->target = (uint64_t)in->ops[0].imm;
        } else
            in->kind = WC_I_ICALL;
    } else if (is_jump) {
        bool direct = in->nops == 1 && in->ops[0].type == WC_OP_IMM;
        if (ci->id == X86_INS_JMP || ci->id == X86_INS_LJMP)
            in->kind = direct ? WC_I_JMP : WC_I_IJMP;
        else {
            in->kind = WC_I_JCC;
            in->target = direct ? (uint64_t)in->ops[0].imm : 0;
            if (!direct)
                in->kind = WC_I_IJMP;
        }
        if (direct)
            in->target = (uint64_t)in->ops[0].imm;
    } else if (ci->id == X86_INS_HLT || ci->id == X86_INS_UD2 || ci->id == X86_INS_INT3 ||
               ci->id == X86_INS_UD0) {
        in->kind = WC_I_HALT;
    }
    cs_free(ci, 1);
    cache_put(d, addr, in);
    return in;
}

/* Faults in a guard region become ordinary "out of bounds memory access"
 * traps.
 *
 * The interpreter's loads and stores on a guarded memory (memory.c) carry no
 * bounds check: an access past the memory's size touches PROT_NONE pages and
 * the kernel raises SIGSEGV. Our handler, installed once per process and run
 * on an alternate signal stack, looks at the thread's innermost guarded call
 * (a thread-local pointer set by sw__guarded_invoke around the interpreter):
 * when the faulting address lies in the reservation of the memory that call
 * is using, it jumps back to the call (siglongjmp), which reports the trap.
 * Any other fault (no guarded call on this thread, an address elsewhere, a
 * host function running) goes to the handler that was there before ours, or
 * the default action: real crashes still crash.
 *
 * Threads: the state is per thread; the handler is (re)installed under a
 * lock. Each thread that runs wasm gets an alternate signal stack if it has
 * none, freed when the thread ends. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "internal.h"

struct guarded_call {
    sigjmp_buf jump;
    struct exec *ex;
    struct guarded_call *outer;
};

static _Thread_local struct guarded_call *innermost;
static _Thread_local bool thread_ready;

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous; /* SA_SIGINFO unset, SIG_DFL: the default */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_ok;
static pthread_key_t altstack_key;

#define ALTSTACK_SIZE (64 * 1024)

/* Why a guarded call was jumped back to. */
enum { JUMP_FAULT = 1, JUMP_RAISED = 2 };

static void pass_on(int sig, siginfo_t *info, void *uc)
{
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) {
            previous.sa_sigaction(sig, info, uc);
            return;
        }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    /* Default action: put it back; returning re-runs the faulting
       instruction, which now kills the process as it would have. */
    signal(sig, SIG_DFL);
}

/* The instruction that faulted, so that compiled code can tell in which
 * function (native.c); NULL where we do not know how to read it. */
static const void *fault_pc(void *uc)
{
#if defined(__x86_64__)
    return (const void *)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (const void *)((ucontext_t *)uc)->uc_mcontext.pc;
#else
    (void)uc;
    return NULL;
#endif
}

static void on_fault(int sig, siginfo_t *info, void *uc)
{
    struct guarded_call *g = innermost;
    if (g) {
        const struct sw_memory_obj *m = g->ex->cur_mem;
        const uint8_t *a = info->si_addr;
        if (m && m->guarded && a >= m->data && a < m->data + m->reserved) {
            g->ex->fault_pc = fault_pc(uc);
            siglongjmp(g->jump, JUMP_FAULT);
        }
    }
    pass_on(sig, info, uc);
}

static void free_altstack(void *mem)
{
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    munmap(mem, ALTSTACK_SIZE);
}

static void make_key(void)
{
    key_ok = pthread_key_create(&altstack_key, free_altstack) == 0;
}

/* Puts our handler in place if it is not (first use, or someone replaced
 * it since: a test framework, an embedder's crash reporter), keeping the
 * one it replaces as the one faults that are not ours go to. One sigaction
 * call when nothing changed. */
static bool ensure_handler(void)
{
    struct sigaction cur;
    if (sigaction(SIGSEGV, NULL, &cur) != 0) return false;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_fault) return true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    /* NODEFER and an empty mask: the signal mask is the same inside the
       handler as outside, so the jump back need not restore it (and the
       interpreter's sigsetjmp need not save it: no system call per call). */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    pthread_mutex_lock(&install_lock);
    struct sigaction old;
    bool ok = sigaction(SIGSEGV, &sa, &old) == 0;
    if (ok && !((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_fault)) previous = old;
    pthread_mutex_unlock(&install_lock);
    return ok;
}

/* The handler and this thread's alternate stack; false if either is
 * missing (then the caller uses the bounds-checking loop). */
static bool prepare_thread(void)
{
    if (!ensure_handler()) return false;
    if (thread_ready) return true;
    pthread_once(&key_once, make_key);
    if (!key_ok) return false;
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0) return false;
    if (cur.ss_flags & SS_DISABLE) {
        void *mem =
            mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) return false;
        stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_SIZE};
        if (sigaltstack(&ss, NULL) != 0) {
            munmap(mem, ALTSTACK_SIZE);
            return false;
        }
        pthread_setspecific(altstack_key, mem);
    }
    thread_ready = true;
    return true;
}

sw_status sw__guarded_invoke(sw_instance *ctx, sw_func *func, uint64_t *args_results,
                             sw_status (*loop)(sw_instance *, sw_func *, uint64_t *,
                                               const void *const **),
                             bool *unavailable)
{
    *unavailable = false;
    if (!prepare_thread()) {
        *unavailable = true;
        return SW_OK;
    }
    struct exec *ex = &ctx->ex;
    struct guarded_call g;
    g.ex = ex;
    g.outer = innermost;
    uint32_t base_frames = ex->nframes;
    switch (sigsetjmp(g.jump, 0)) {
    case 0: break;
    case JUMP_RAISED: /* sw__guard_raise: ex says what happened */
        innermost = g.outer;
        ex->nframes = base_frames;
        return ex->status;
    default: /* JUMP_FAULT */
        innermost = g.outer;
        ex->nframes = base_frames;
        ex->trap_code = ex->cur_code;
        ex->trap_inst = ex->cur_inst;
        ex->trap = SW_TRAP_MEMORY_OOB;
        ex->status = SW_ERR_TRAP;
        snprintf(ex->message, sizeof ex->message, "%s", sw_trap_message(SW_TRAP_MEMORY_OOB));
        return SW_ERR_TRAP;
    }
    innermost = &g;
    sw_status st = loop(ctx, func, args_results, NULL);
    innermost = g.outer;
    return st;
}

struct exec *sw__guard_exec(void)
{
    return innermost ? innermost->ex : NULL;
}

void sw__guard_raise(void)
{
    siglongjmp(innermost->jump, JUMP_RAISED);
}

void *sw__guard_suspend(void)
{
    void *g = innermost;
    innermost = NULL;
    return g;
}

void sw__guard_resume(void *saved)
{
    innermost = saved;
}

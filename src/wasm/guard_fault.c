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
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

struct guarded_call {
    sigjmp_buf jump;
    struct exec *ex;
    struct guarded_call *outer;
};

static _Thread_local struct guarded_call *innermost;
static _Thread_local bool thread_ready;

/* The kick again of a kick that missed compiled code (see
 * sw__guard_native_running): this thread's timer, deleted when the thread
 * ends. */
struct kick_timer {
    timer_t id;
    bool made, tried;
};
static _Thread_local struct kick_timer kick_timer;
static _Thread_local sw_instance *native_running;
static pthread_key_t kick_timer_key;
static bool kick_key_ok;

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous; /* SA_SIGINFO unset, SIG_DFL: the default */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static bool key_ok;
static pthread_key_t altstack_key;

#define ALTSTACK_SIZE (64 * 1024)

/* Why a guarded call was jumped back to. */
enum { JUMP_FAULT = 1, JUMP_RAISED = 2, JUMP_STACK = 3, JUMP_INTERRUPTED = 4 };

/* The lowest address of this thread's stack, once compiled code asked
 * (sw__guard_stack_low); a fault just below it is a stack overflow. */
static _Thread_local uintptr_t stack_low;
/* How far below the stack's end an overflowing frame may touch first: with
 * stack-clash protection (toolchain.c) the very next page. */
#define STACK_GUARD_SPAN (1024 * 1024)

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
        /* wasm code (never a host function: those run with innermost
           cleared) ran off the end of the thread's stack */
        uintptr_t at = (uintptr_t)a;
        if (stack_low && at < stack_low && stack_low - at <= STACK_GUARD_SPAN) {
            g->ex->fault_pc = fault_pc(uc);
            siglongjmp(g->jump, JUMP_STACK);
        }
    }
    pass_on(sig, info, uc);
}

/* SW_KICK_SIGNAL (sw__native_kick): when the thread is running compiled
 * code (the instruction lies in its range), the call ends with
 * "interrupted"; anywhere else (the engine's helpers, a host function, the
 * interpreter) nothing happens here, as those look at the interrupt flag
 * themselves. Compiled code holds no locks and no memory of its own, so
 * leaving it at any instruction is safe. */
static void on_kick(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)info;
    struct guarded_call *g = innermost;
    const uint8_t *pc = fault_pc(uc);
    if (g) {
        struct exec *ex = g->ex;
        if (ex->native_lo && pc >= ex->native_lo && pc < ex->native_hi) {
            ex->fault_pc = pc;
            siglongjmp(g->jump, JUMP_INTERRUPTED);
        }
    }
    /* Missed: maybe just before the jump into compiled code, after the
       last look at the flag; then nothing would look again. */
    sw_instance *inst = native_running;
    if (inst && kick_timer.made && atomic_load(&inst->interrupt) &&
        atomic_load(&inst->ex.native_depth) > 0) {
        struct itimerspec again = {.it_value = {.tv_sec = 0, .tv_nsec = 1000000}};
        timer_settime(kick_timer.id, 0, &again, NULL); /* async-signal-safe */
    }
}

static void delete_kick_timer(void *t)
{
    timer_delete(((struct kick_timer *)t)->id);
}

static void make_kick_timer_key(void)
{
    kick_key_ok = pthread_key_create(&kick_timer_key, delete_kick_timer) == 0;
}

/* This thread's kick timer, made once (without one, a missed kick stays
 * missed, as it would be anyway). */
static void prepare_kick_timer(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (kick_timer.tried) return;
    kick_timer.tried = true;
    pthread_once(&once, make_kick_timer_key);
    if (!kick_key_ok) return;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SW_KICK_SIGNAL;
    ev._sigev_un._tid = gettid();
    if (timer_create(CLOCK_MONOTONIC, &ev, &kick_timer.id) != 0) return;
    if (pthread_setspecific(kick_timer_key, &kick_timer) != 0) {
        timer_delete(kick_timer.id);
        return;
    }
    kick_timer.made = true;
}

sw_instance *sw__guard_native_running(sw_instance *inst)
{
    if (inst) prepare_kick_timer();
    sw_instance *before = native_running;
    native_running = inst;
    return before;
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
    /* The kick of compiled code: its default action is to ignore it, so a
       kick that comes late does nothing either. */
    struct sigaction kick;
    memset(&kick, 0, sizeof kick);
    kick.sa_sigaction = on_kick;
    kick.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    sigemptyset(&kick.sa_mask);
    if (sigaction(SW_KICK_SIGNAL, &kick, NULL) != 0) return false;
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
    sw_trap trap;
    switch (sigsetjmp(g.jump, 0)) {
    case 0: break;
    case JUMP_RAISED: /* sw__guard_raise: ex says what happened */
        innermost = g.outer;
        ex->nframes = base_frames;
        return ex->status;
    case JUMP_STACK: trap = SW_TRAP_STACK_EXHAUSTED; goto trapped;
    case JUMP_INTERRUPTED: trap = SW_TRAP_INTERRUPTED; goto trapped;
    default: /* JUMP_FAULT */
        trap = SW_TRAP_MEMORY_OOB;
    trapped:
        innermost = g.outer;
        ex->nframes = base_frames;
        ex->trap_code = ex->cur_code;
        ex->trap_inst = ex->cur_inst;
        ex->trap = trap;
        ex->status = SW_ERR_TRAP;
        snprintf(ex->message, sizeof ex->message, "%s", sw_trap_message(trap));
        return SW_ERR_TRAP;
    }
    innermost = &g;
    sw_status st = loop(ctx, func, args_results, NULL);
    innermost = g.outer;
    return st;
}

uintptr_t sw__guard_stack_low(void)
{
    if (stack_low) return stack_low;
    pthread_attr_t attr;
    void *low = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &low, &size) != 0) low = NULL;
        pthread_attr_destroy(&attr);
    }
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (!low || here <= (uintptr_t)low || here - (uintptr_t)low > size) return 0;
    stack_low = (uintptr_t)low;
    return stack_low;
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

// SPDX-License-Identifier: Apache-2.0
// The `process` platform: the enclave is a separate, sealed process.
//
// enclave::create lays the region out in a memfd, forks, and the child
// becomes the enclave: it dies with the host (PR_SET_PDEATHSIG), keeps only
// a diagnostic pipe, maps the region at a new address and drops the host's
// mapping, reserves its fixed heap (the enclave memory budget), starts its
// threads, and then seals itself with a seccomp allow-list before any
// enclave code runs. From then on the only way to the host is the region.
// docs/platform.md explains each step and each allowed system call.
//
// Host side, a monitor thread watches the child through a pidfd and reads
// the diagnostic pipe; when the child dies it reaps it, records why, and
// fails every open host channel (rpc::endpoint_base::fail, posted to the
// channel's executor). The destructor asks the child to stop through a
// region word, waits `stop_grace_ns`, then kills it; it always reaps it.
//
// Region words beyond the channels' doorbells (process_words below): stop,
// ready, and the four words of the measured synchronous transition. They
// are plain 8-byte words in doorbell slots (their own cache lines), parked
// on with shared (not FUTEX_PRIVATE) futexes, which work across processes
// because the memfd is MAP_SHARED in both.
//
// Thread contract: as enclave.hh. The monitor thread touches only the
// fields under `mutex_` and posts to executors (a thread-safe entry point).
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <exception>
#include <latch>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "airlock/platform/enclave.hh"
#include "airlock/platform/futex_wait.hh"
#include "enclave_internal.hh"
#include "log_internal.hh"

namespace airlock::platform {
namespace {

using ring::shared;
using ring::shared_u64;

// Exit codes of the enclave process that are not the program's own.
constexpr int sandbox_exit_code = 128 + SIGSYS;  // a system call outside the allow-list
constexpr int setup_exit_code = 126;             // the enclave could not be set up
constexpr int context_exit_code = 125;           // the program's context could not be built
constexpr int terminate_exit_code = 124;         // std::terminate (an uncaught exception ...)
constexpr int memory_exit_code = 123;            // ... that was std::bad_alloc: the budget ran out

// The region words of the process platform, after the channels' doorbells.
struct process_words {
    std::size_t first;                                                 // 2 * channels
    [[nodiscard]] std::size_t stop() const { return first; }           // host: 1 = stop now
    [[nodiscard]] std::size_t ready() const { return first + 1; }      // enclave: 1 = programs ran
    [[nodiscard]] std::size_t call_seq() const { return first + 2; }   // host: call number
    [[nodiscard]] std::size_t call_arg() const { return first + 3; }   // host: its value
    [[nodiscard]] std::size_t reply_seq() const { return first + 4; }  // enclave: call answered
    [[nodiscard]] std::size_t reply_value() const { return first + 5; }  // enclave: the answer
    static constexpr std::size_t count = 6;
};

ring::region_geometry base_geometry(const enclave_config& c) {
    return channel_geometry(c.enclave_threads, c.ring_capacity, c.service_links,
                            c.service_ring_capacity, c.pool_bytes);
}

ring::region_geometry process_geometry(const enclave_config& c) {
    ring::region_geometry g = base_geometry(c);
    g.doorbells += process_words::count;
    return g;
}

// The first process word: after the channels' and the links' doorbells.
std::size_t first_process_word(const enclave_config& c) {
    return base_geometry(c).doorbells;
}

shared_u64& word(const ring::region& r, std::size_t i) {
    return r.doorbell(i).word;
}

// ============================================================================
// The enclave process. Everything below runs only in the forked child.

// The diagnostic pipe's write end: the one fd the sandbox lets the enclave
// write to.
int g_diag_fd = -1;
// The program break once the heap is reserved: what an emulated brk returns
// (the kernel's way of saying "no", which glibc's malloc understands).
std::uintptr_t g_break = 0;
// A sanitizer runtime is in the program (sanitizer_runtime_present): its
// allow-list is wider and the fixed heap is not enforced.
bool g_sanitized = false;

// The loaded objects, recorded before sealing, so the SIGSYS handler can name
// the code that made a call as object+offset (`addr2line -f -e object offset`).
struct loaded_object {
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    std::uintptr_t base = 0;
    char name[240] = {};
};
constexpr std::size_t max_objects = 64;
loaded_object g_objects[max_objects];
std::size_t g_object_count = 0;

int record_object(dl_phdr_info* info, std::size_t /*size*/, void* /*context*/) {
    if (g_object_count == max_objects) return 1;
    loaded_object& o = g_objects[g_object_count];
    o.begin = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD) continue;
        const std::uintptr_t b = info->dlpi_addr + ph.p_vaddr;
        o.begin = std::min(o.begin, b);
        o.end = std::max<std::uintptr_t>(o.end, b + ph.p_memsz);
    }
    if (o.begin == UINTPTR_MAX) return 0;
    o.base = info->dlpi_addr;
    const char* name = info->dlpi_name;
    if (name == nullptr || *name == '\0') {
        // The main program: its path, for addr2line.
        const ssize_t n = readlink("/proc/self/exe", o.name, sizeof o.name - 1);
        o.name[n > 0 ? n : 0] = '\0';
    } else {
        std::strncpy(o.name, name, sizeof o.name - 1);
    }
    ++g_object_count;
    return 0;
}

// Ends the enclave process with the raw system call: sanitizers intercept
// _exit and run their own finalisation, whose calls the sandbox refuses.
[[noreturn]] void exit_now(int code) noexcept {
    for (;;)
        syscall(SYS_exit_group, code);
}

// Async-signal-safe formatting into a fixed buffer.
struct line_buffer {
    char data[3072];
    std::size_t size = 0;
    void put(std::string_view s) noexcept {
        for (char c : s)
            if (size < sizeof data) data[size++] = c;
    }
    void put_dec(std::uint64_t v) noexcept {
        char tmp[24];
        int n = 0;
        do {
            tmp[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n > 0)
            put({&tmp[--n], 1});
    }
    void put_hex(std::uint64_t v) noexcept {
        put("0x");
        char tmp[16];
        int n = 0;
        do {
            tmp[n++] = "0123456789abcdef"[v & 15];
            v >>= 4;
        } while (v != 0);
        while (n > 0)
            put({&tmp[--n], 1});
    }
    void put_location(std::uintptr_t addr) noexcept {
        put_hex(addr);
        for (std::size_t i = 0; i < g_object_count; ++i) {
            const loaded_object& o = g_objects[i];
            if (addr >= o.begin && addr < o.end) {
                put(" ");
                put(o.name);
                put("+");
                put_hex(addr - o.base);
                return;
            }
        }
    }
    void write_to(int fd) const noexcept {
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::write(fd, data + done, size - done);
            if (n <= 0) return;
            done += static_cast<std::size_t>(n);
        }
    }
};

// Names of the calls enclave code is most likely to make by mistake.
const char* syscall_name(long nr) noexcept {
    switch (nr) {
#define AIRLOCK_SYSCALL(x) \
    case SYS_##x:          \
        return #x;
        AIRLOCK_SYSCALL(read)
        AIRLOCK_SYSCALL(write)
        AIRLOCK_SYSCALL(close)
        AIRLOCK_SYSCALL(openat)
        AIRLOCK_SYSCALL(fstat)
        AIRLOCK_SYSCALL(lseek)
        AIRLOCK_SYSCALL(mmap)
        AIRLOCK_SYSCALL(mprotect)
        AIRLOCK_SYSCALL(munmap)
        AIRLOCK_SYSCALL(brk)
        AIRLOCK_SYSCALL(ioctl)
        AIRLOCK_SYSCALL(pread64)
        AIRLOCK_SYSCALL(pwrite64)
        AIRLOCK_SYSCALL(readv)
        AIRLOCK_SYSCALL(writev)
        AIRLOCK_SYSCALL(madvise)
        AIRLOCK_SYSCALL(dup)
        AIRLOCK_SYSCALL(nanosleep)
        AIRLOCK_SYSCALL(getpid)
        AIRLOCK_SYSCALL(gettid)
        AIRLOCK_SYSCALL(socket)
        AIRLOCK_SYSCALL(connect)
        AIRLOCK_SYSCALL(accept)
        AIRLOCK_SYSCALL(sendto)
        AIRLOCK_SYSCALL(recvfrom)
        AIRLOCK_SYSCALL(clone)
        AIRLOCK_SYSCALL(clone3)
        AIRLOCK_SYSCALL(execve)
        AIRLOCK_SYSCALL(kill)
        AIRLOCK_SYSCALL(tgkill)
        AIRLOCK_SYSCALL(getrandom)
        AIRLOCK_SYSCALL(clock_nanosleep)
        AIRLOCK_SYSCALL(rt_sigaction)
        AIRLOCK_SYSCALL(rt_sigprocmask)
        AIRLOCK_SYSCALL(sigaltstack)
        AIRLOCK_SYSCALL(prctl)
        AIRLOCK_SYSCALL(sched_getaffinity)
        AIRLOCK_SYSCALL(mremap)
        AIRLOCK_SYSCALL(pipe2)
        AIRLOCK_SYSCALL(getcwd)
        AIRLOCK_SYSCALL(uname)
#if defined(SYS_open)
        AIRLOCK_SYSCALL(open)
        AIRLOCK_SYSCALL(stat)
        AIRLOCK_SYSCALL(fork)
        AIRLOCK_SYSCALL(pipe)
        AIRLOCK_SYSCALL(dup2)
#endif
#undef AIRLOCK_SYSCALL
        default:
            return nullptr;
    }
}

// Sets the return value of the interrupted system call.
void set_syscall_result(void* context, std::uint64_t value) noexcept {
    auto* uc = static_cast<ucontext_t*>(context);
#if defined(__x86_64__)
    uc->uc_mcontext.gregs[REG_RAX] = static_cast<greg_t>(value);
#elif defined(__aarch64__)
    uc->uc_mcontext.regs[0] = value;
#else
#error "the process platform knows x86-64 and AArch64"
#endif
}

// Appends the stack, less its first `skip` frames (this function is frame 0).
[[gnu::noinline]] void put_backtrace(line_buffer& b, int skip) noexcept {
    void* frames[24];
    const int n = backtrace(frames, 24);
    for (int i = skip; i < n; ++i) {
        b.put("  #");
        b.put_dec(static_cast<std::uint64_t>(i - skip));
        b.put(" ");
        b.put_location(reinterpret_cast<std::uintptr_t>(frames[i]));
        b.put("\n");
    }
}

// SIGSYS: a system call the allow-list does not have. brk is answered
// "no" (malloc then reports exhaustion, which is what running out of the
// budget means); anything else stops the enclave with a report naming the
// call, where it was made and the stack above it.
void on_sigsys(int /*sig*/, siginfo_t* info, void* context) {
    const int nr = info->si_syscall;
    if (nr == SYS_brk) {
        set_syscall_result(context, g_break);
        return;
    }
    line_buffer b;
    b.put("airlock: the enclave made a system call the sandbox forbids: ");
    if (const char* name = syscall_name(nr)) {
        b.put(name);
        b.put(" ");
    }
    b.put("(number ");
    b.put_dec(static_cast<std::uint64_t>(nr));
    b.put(") at ");
    b.put_location(reinterpret_cast<std::uintptr_t>(info->si_call_addr));
    b.put("\n");
    // Frame 1 is this handler, 2 the signal trampoline; the call site and
    // the code above it follow.
    put_backtrace(b, 2);
    b.write_to(g_diag_fd);
    exit_now(sandbox_exit_code);
}

// std::terminate inside the sealed enclave: an exception nothing caught, or
// one that left a noexcept function. glibc's abort would raise a signal with
// calls the sandbox forbids and the report would name the wrong cause; this
// names the exception, prints the stack and ends the process. An uncaught
// std::bad_alloc is the enclave running out of its memory budget and ends
// with its own code, which the host reports as enclave_memory_exhausted.
[[noreturn]] void on_terminate() noexcept {
    line_buffer b;
    bool out_of_memory = false;
    b.put("airlock: the enclave program called std::terminate");
    if (std::exception_ptr e = std::current_exception()) {
        try {
            std::rethrow_exception(e);
        } catch (const std::bad_alloc& x) {
            out_of_memory = true;
            b.put(": uncaught std::bad_alloc (the enclave's memory budget ran out): ");
            b.put(x.what());
        } catch (const std::exception& x) {
            b.put(": uncaught exception: ");
            b.put(x.what());
        } catch (...) {
            b.put(": uncaught exception of a type not derived from std::exception");
        }
    } else {
        b.put(" with no exception in flight");
    }
    b.put("\n");
    put_backtrace(b, 2);
    b.write_to(g_diag_fd);
    exit_now(out_of_memory ? memory_exit_code : terminate_exit_code);
}

[[noreturn]] void setup_failed(std::string_view what) {
    line_buffer b;
    b.put("airlock: the enclave process could not be set up: ");
    b.put(what);
    b.put("\n");
    b.write_to(g_diag_fd);
    exit_now(setup_exit_code);
}

// A failed spawned task inside the enclave: reported through the diagnostic
// pipe (the default handler would print to stderr, a forbidden write).
void report_to_pipe(void* /*context*/, const async::task_failure& failure) noexcept {
    line_buffer b;
    b.put("airlock: enclave task failed: ");
    if (failure.exception) {
        try {
            std::rethrow_exception(failure.exception);
        } catch (const std::exception& e) {
            b.put("exception: ");
            b.put(e.what());
        } catch (...) {
            b.put("non-standard exception");
        }
    } else {
        b.put(to_string(failure.code));
    }
    b.put("\n");
    b.write_to(g_diag_fd);
}

// Per-thread: SIGSYS runs on its own stack, so a report still comes out of
// a thread whose stack is nearly used up. Alternate stacks are per thread
// and not inherited, so every enclave thread calls this before the seal.
void use_alternate_stack() {
    constexpr std::size_t size = 64 * 1024;
    stack_t ss{};
    ss.ss_sp = ::operator new(size);  // lives as long as the thread
    ss.ss_size = size;
    if (sigaltstack(&ss, nullptr) != 0) setup_failed("sigaltstack");
}

// The seccomp allow-list. Everything not listed traps into on_sigsys.
void seal() {
    std::vector<sock_filter> f;
    auto ret = [&](std::uint32_t action) { f.push_back(BPF_STMT(BPF_RET | BPF_K, action)); };
    auto load = [&](std::uint32_t offset) {
        f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset));
    };
    auto on = [&](long nr, std::uint32_t action) {
        f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(nr), 0, 1));
        ret(action);
    };
    constexpr std::uint32_t allow = SECCOMP_RET_ALLOW;
    [[maybe_unused]] constexpr std::uint32_t refuse = SECCOMP_RET_ERRNO | ENOMEM;
#if defined(__x86_64__)
    constexpr std::uint32_t arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
    constexpr std::uint32_t arch = AUDIT_ARCH_AARCH64;
#endif
    load(offsetof(seccomp_data, arch));
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0));
    ret(SECCOMP_RET_KILL_PROCESS);  // another ABI's numbers would mean other calls
    load(offsetof(seccomp_data, nr));
    // Parking on region doorbells (shared futexes), glibc's and libstdc++'s
    // internal locks and atomic waits (private futexes).
    on(SYS_futex, allow);
    // A thread or the process ending (the stop request ends in _exit).
    on(SYS_exit, allow);
    on(SYS_exit_group, allow);
    // The yield phase of every wait (ring/wait.hh).
    on(SYS_sched_yield, allow);
    // Clocks for timers and deadlines: normally the vDSO answers without a
    // system call, but a VM whose clocksource the vDSO cannot read falls
    // back to the real call.
    on(SYS_clock_gettime, allow);
#if defined(SYS_gettimeofday)
    on(SYS_gettimeofday, allow);
#endif
    // Returning from on_sigsys after it answered a brk.
    on(SYS_rt_sigreturn, allow);
    // The kernel restarting a futex wait that a signal interrupted.
    on(SYS_restart_syscall, allow);
    if (g_sanitized) {
        // Sanitizer runtimes map shadow and allocator memory themselves and ask
        // about their thread; the fixed heap is not enforced under them.
        on(SYS_mmap, allow);
        on(SYS_munmap, allow);
        on(SYS_mprotect, allow);
        on(SYS_madvise, allow);
        on(SYS_mremap, allow);
        on(SYS_getpid, allow);
        on(SYS_gettid, allow);
        on(SYS_rt_sigprocmask, allow);
        on(SYS_sigaltstack, allow);
        on(SYS_sched_getaffinity, allow);
    } else {
        // No new memory after the seal: calls that would map or grow memory are
        // refused with ENOMEM, so malloc reports exhaustion (bad_alloc) instead
        // of the enclave stopping. brk traps: see on_sigsys.
        on(SYS_mmap, refuse);
        on(SYS_mremap, refuse);
        on(SYS_mprotect, refuse);
        on(SYS_munmap, refuse);
        on(SYS_madvise, refuse);
    }
    if (g_sanitized) {
        // UBSan probes whether memory is readable by writing it into a pipe of
        // its own (IsAccessibleMemoryRange): pipes, closing them, and writes to
        // any fd but stdin and stdout (fd 2 is the diagnostic pipe here).
        on(SYS_pipe2, allow);
        on(SYS_close, allow);
        f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 5));
        load(offsetof(seccomp_data, args[0]));
        f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0));
        f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0));
        ret(allow);
        ret(SECCOMP_RET_TRAP);
    } else {
        // write(2) only to the diagnostic pipe: both halves of the fd checked.
        f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 6));
        load(offsetof(seccomp_data, args[0]));
        f.push_back(
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(g_diag_fd), 0, 3));
        load(offsetof(seccomp_data, args[0]) + 4);
        f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
        ret(allow);
        ret(SECCOMP_RET_TRAP);
    }
    // Everything else.
    ret(SECCOMP_RET_TRAP);

    sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) setup_failed("PR_SET_NO_NEW_PRIVS");
    // TSYNC: every thread of the process gets the filter at once.
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
        setup_failed("seccomp");
}

// What the child needs, copied before fork (the child sees the host's
// memory as it was at the fork, so these stay valid there).
struct child_plan {
    const enclave_config* config;
    const ring::region_geometry* geometry;
    const detail::program_entry* entry;
    int memfd;
    std::size_t region_size;
    std::size_t untrusted_size;  // after the region in the same memfd
    std::byte* host_mapping;
    int diag_fd;
    pid_t host_pid;
};

// Closes every fd but `keep`.
void close_all_but(int keep) {
    const auto k = static_cast<unsigned>(keep);
    if (k > 0 && syscall(SYS_close_range, 0u, k - 1, 0u) != 0) setup_failed("close_range");
    if (syscall(SYS_close_range, k + 1, ~0u, 0u) != 0) setup_failed("close_range");
}

// The state the child's threads share (child-private memory).
struct child_state {
    explicit child_state(std::size_t n) : built(static_cast<std::ptrdiff_t>(n) + 1), ran(n) {}
    ring::region region;
    std::span<std::byte> untrusted;  // enclave_config::untrusted_memory, the enclave's mapping
    std::vector<async::executor*> executors;
    std::latch built;            // every thread made its executor (and the transition thread)
    std::atomic<int> sealed{0};  // 1 once the filter is on: the programs may run
    std::latch ran;              // every program registered its handlers
    std::atomic<std::size_t> stopped{0};
    void* context = nullptr;  // the program's context, built after the seal
};

void wait_sealed(child_state& s) {
    s.sealed.wait(0, std::memory_order_acquire);  // acquire: pairs with the seal's release
}

void enclave_thread_main(const child_plan& plan, child_state& s, std::size_t i) {
    const enclave_config& config = *plan.config;
    detail::pin_enclave_thread(config, i);
    use_alternate_stack();
    ring::wait_hooks& hooks = futex_wait_hooks::instance();
    async::executor_options options = config.executor;
    if (options.on_error == nullptr) options.on_error = &report_to_pipe;
    async::executor ex(s.region.doorbell(enclave_bell(i)), hooks, options);
    rpc::endpoint<rpc::side::enclave> ep(ex, s.region.ring(enclave_to_host_ring(i)),
                                         s.region.ring(host_to_enclave_ring(i)),
                                         enclave_wiring(s.region, i, hooks), config.rpc);
    s.executors[i] = &ex;
    detail::enclave_logger logger(s.region.ring(log_ring(config.enclave_threads, i)), i);
    s.built.count_down();
    wait_sealed(s);
    std::vector<service_link> links;
    for (std::size_t l = 0; l < config.service_links; ++l)
        links.push_back(link_view(s.region, config.enclave_threads, config.service_links, i, l));
    std::vector<std::shared_ptr<void>> keep_alive;
    enclave_thread ctx{i, ex, ep, s.region.base(), links, &keep_alive, s.untrusted, true};
    plan.entry->run(plan.entry->program, ctx, s.context);
    s.ran.count_down();
    ex.run();  // until the stop request
    s.stopped.fetch_add(1, std::memory_order_release);
    s.stopped.notify_all();
    // Never return: a thread's exit frees its stack with calls the sandbox
    // refuses. The process ends with _exit on the main thread.
    std::atomic<int> forever{0};
    for (;;)
        forever.wait(0, std::memory_order_relaxed);
}

// The enclave's half of the measured transition: answers value + 1.
void transition_thread_main(child_state& s, process_words w) {
    use_alternate_stack();
    s.built.count_down();
    wait_sealed(s);
    ring::wait_hooks& hooks = futex_wait_hooks::instance();
    shared_u64& call_seq = word(s.region, w.call_seq());
    std::uint64_t last = 0;
    for (;;) {
        // acquire: the argument written before the call number is visible.
        const std::uint64_t seq = shared::load_acquire(call_seq);
        if (seq == last) {
            hooks.park(call_seq, seq, UINT64_MAX);
            continue;
        }
        last = seq;
        const std::uint64_t value = shared::load_relaxed(word(s.region, w.call_arg()));
        shared::store_relaxed(word(s.region, w.reply_value()), value + 1);
        // release: the answer is visible before the reply number.
        shared::store_release(word(s.region, w.reply_seq()), seq);
        hooks.unpark(word(s.region, w.reply_seq()));
    }
}

[[noreturn]] void enclave_process_main(const child_plan& plan) {
    g_diag_fd = plan.diag_fd;
    g_sanitized = sanitizer_runtime_present();
    detail::mark_enclave_process();
    // Die with the host; if it is already gone, go now.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) setup_failed("PR_SET_PDEATHSIG");
    if (getppid() != plan.host_pid) exit_now(setup_exit_code);

    // The region at an address of the enclave's own; the host's goes.
    const std::size_t mapped = plan.region_size + plan.untrusted_size;
    void* mine = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, plan.memfd, 0);
    if (mine == MAP_FAILED) setup_failed("mmap of the region");
    munmap(plan.host_mapping, mapped);
    if (g_sanitized) {
        // Sanitizer reports go to stderr: make that the diagnostic pipe.
        if (dup2(g_diag_fd, 2) != 2) setup_failed("dup2");
        g_diag_fd = 2;
    }
    close_all_but(g_diag_fd);
    if (g_sanitized) {
        // Keep fds 0 and 1 taken, so the pipes UBSan opens never get them:
        // the filter refuses writes to 0 and 1 whatever they are.
        if (dup2(g_diag_fd, 0) != 0 || dup2(g_diag_fd, 1) != 1) setup_failed("dup2");
    }

    // The fixed heap: one arena, no mmap'd chunks, never trimmed, and the
    // budget taken from the kernel now and handed back to the arena.
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    if (!g_sanitized) {
        void* reserve = std::malloc(plan.config->enclave_memory);
        if (reserve == nullptr) setup_failed("reserving the enclave memory");
        std::free(reserve);
    }
    g_break = reinterpret_cast<std::uintptr_t>(sbrk(0));

    // What the SIGSYS handler needs, prepared while calls are still allowed.
    dl_iterate_phdr(&record_object, nullptr);
    void* warm[4];
    (void)backtrace(warm, 4);  // loads the unwinder now, not in the handler
    use_alternate_stack();
    struct sigaction sa {};
    sa.sa_sigaction = &on_sigsys;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, nullptr) != 0) setup_failed("sigaction");
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGSYS);
    pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);  // threads inherit the mask
    std::set_terminate(&on_terminate);

    const enclave_config& config = *plan.config;
    auto* state = new child_state(config.enclave_threads);  // lives until _exit
    auto region =
        ring::region::attach({static_cast<std::byte*>(mine), plan.region_size}, *plan.geometry);
    if (!region) setup_failed(to_string(region.error()));
    state->region = std::move(*region);
    state->untrusted = {static_cast<std::byte*>(mine) + plan.region_size, plan.untrusted_size};
    state->executors.assign(config.enclave_threads, nullptr);
    const process_words w{first_process_word(config)};
    // Threads need mmap (their stacks): all of them start before the seal.
    for (std::size_t i = 0; i < config.enclave_threads; ++i)
        std::thread([&plan, state, i] { enclave_thread_main(plan, *state, i); }).detach();
    std::thread([state, w] { transition_thread_main(*state, w); }).detach();
    state->built.wait();

    seal();
    // The program's context, built inside the sealed enclave from its heap.
    // It is never destroyed: the process ends with _exit.
    if (plan.entry->build != nullptr) {
        errc error = errc::enclave_context_failed;
        state->context = plan.entry->build(plan.entry->settings, error);
        if (state->context == nullptr) {
            line_buffer b;
            b.put("airlock: the enclave program's context could not be built: ");
            b.put(to_string(error));
            b.put("\n");
            b.write_to(g_diag_fd);
            exit_now(context_exit_code);
        }
    }
    // release: the threads see a sealed process (and the context) before
    // running enclave code.
    state->sealed.store(1, std::memory_order_release);
    state->sealed.notify_all();
    state->ran.wait();

    ring::wait_hooks& hooks = futex_wait_hooks::instance();
    shared::store_release(word(state->region, w.ready()), 1);
    hooks.unpark(word(state->region, w.ready()));

    // Serve until the host asks to stop, then stop the executors after their
    // current round and end the process.
    shared_u64& stop = word(state->region, w.stop());
    while (shared::load_acquire(stop) == 0)
        hooks.park(stop, 0, UINT64_MAX);
    for (async::executor* ex : state->executors)
        ex->request_stop();
    for (std::size_t n = 0;
         (n = state->stopped.load(std::memory_order_acquire)) < config.enclave_threads;)
        state->stopped.wait(n, std::memory_order_acquire);
    exit_now(0);
}

// ============================================================================
// The host side.

class process_enclave;

using process_host_channel = detail::owned_host_channel<process_enclave>;

class process_enclave final : public enclave {
  public:
    explicit process_enclave(const enclave_config& config)
        : config_(config),
          geometry_(process_geometry(config)),
          words_{first_process_word(config)},
          transition_(config.transition_cycles) {}

    ~process_enclave() override {
        if (pid_ > 0) {
            {
                std::lock_guard lock(mutex_);
                stopping_ = true;
            }
            shared::store_release(word(region_, words_.stop()), 1);
            hooks().unpark(word(region_, words_.stop()));
            std::unique_lock lock(mutex_);
            if (!died_.wait_for(lock, std::chrono::nanoseconds(config_.stop_grace_ns),
                                [this] { return dead_; })) {
                // Hung: no request reaches it any more. SIGKILL always works.
                (void)syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
                died_.wait(lock, [this] { return dead_; });
            }
        }
        drain_.reset();  // before the region goes; the enclave has stopped
        if (monitor_.joinable()) monitor_.join();
        if (pidfd_ >= 0) close(pidfd_);
        if (diag_fd_ >= 0) close(diag_fd_);
        if (base_ != nullptr) munmap(base_, region_size_ + untrusted_size_);
        if (memfd_ >= 0) close(memfd_);
    }

    expected<void> start(detail::program_entry entry) {
        entry_ = std::move(entry);
        auto size = ring::region::required_size(geometry_);
        if (!size) return unexpected(size.error());
        region_size_ = *size;
        untrusted_size_ = detail::untrusted_memory_bytes(config_);
        const std::size_t mapped = region_size_ + untrusted_size_;
        memfd_ = static_cast<int>(
            syscall(SYS_memfd_create, "airlock-region", MFD_CLOEXEC | MFD_ALLOW_SEALING));
        if (memfd_ < 0 || ftruncate(memfd_, static_cast<off_t>(mapped)) != 0)
            return unexpected(errc::platform_unavailable);
        // Its size is fixed for good: no one (the host included) can shrink
        // the region under the enclave's mapping, which would make its next
        // access a SIGBUS, nor grow it.
        if (fcntl(memfd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
            return unexpected(errc::platform_unavailable);
        void* m = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_, 0);
        if (m == MAP_FAILED) return unexpected(errc::platform_unavailable);
        base_ = static_cast<std::byte*>(m);
        auto formatted = ring::region::format({base_, region_size_}, geometry_);
        if (!formatted) return unexpected(formatted.error());
        region_ = std::move(*formatted);

        int pipe_fds[2];
        if (pipe2(pipe_fds, O_CLOEXEC) != 0) return unexpected(errc::platform_unavailable);
        const child_plan plan{&config_,        &geometry_, &entry_,     memfd_,  region_size_,
                              untrusted_size_, base_,      pipe_fds[1], getpid()};
        const pid_t pid = fork();
        if (pid < 0) {
            close(pipe_fds[0]);
            close(pipe_fds[1]);
            return unexpected(errc::platform_unavailable);
        }
        if (pid == 0) enclave_process_main(plan);  // never returns
        close(pipe_fds[1]);
        diag_fd_ = pipe_fds[0];
        (void)fcntl(diag_fd_, F_SETFL, O_NONBLOCK);
        pid_ = pid;
        pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
        if (pidfd_ < 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            pid_ = -1;
            return unexpected(errc::platform_unavailable);
        }
        monitor_ = std::thread([this] { monitor(); });
        drain_.emplace(region_, log_ring(config_.enclave_threads, 0), config_.enclave_threads);

        // Wait until every program registered its handlers, or the child died.
        shared_u64& ready = word(region_, words_.ready());
        while (shared::load_acquire(ready) != 1) {
            if (const errc f = failure(); f != errc::ok)
                return unexpected(exit_code_.load(std::memory_order_acquire) == context_exit_code
                                      ? errc::enclave_context_failed
                                      : f);
            hooks().park(ready, 0, 50'000'000);  // the monitor also wakes us
        }
        return {};
    }

    platform_kind kind() const noexcept override { return platform_kind::process; }
    service_link link(std::size_t thread, std::size_t l) const override {
        AIRLOCK_CHECK(thread < channels() && l < config_.service_links, "no such service link");
        return link_view(region_, config_.enclave_threads, config_.service_links, thread, l);
    }
    std::size_t channels() const noexcept override { return config_.enclave_threads; }
    std::unique_ptr<host_channel> open_channel(std::size_t i,
                                               async::executor_options options) override {
        return channels_.open(
            mutex_, i,
            [&](rpc::endpoint_handover* resume) {
                return std::make_unique<process_host_channel>(*this, region_, i, hooks(),
                                                              config_.rpc, options, resume);
            },
            [&](process_host_channel& ch) {
                if (dead_) ch.post_failure(failure());
                if (stalled_) ch.post_failure(errc::peer_stalled);
            });
    }
    ring::wait_hooks& hooks() noexcept override { return futex_wait_hooks::instance(); }
    const modelled_transition& transition() const noexcept override { return transition_; }
    const void* region_base() const noexcept override { return base_; }
    const ring::region_geometry& geometry() const noexcept override { return geometry_; }
    std::span<std::byte> untrusted_memory() const noexcept override {
        return {base_ + region_size_, untrusted_size_};
    }
    int process_id() const noexcept override { return pid_; }
    errc failure() const noexcept override { return failure_.load(std::memory_order_acquire); }
    std::string diagnostic() const override {
        std::lock_guard lock(mutex_);
        return diagnostic_;
    }

    expected<std::uint64_t> transition_round_trip(std::uint64_t value) override {
        std::lock_guard lock(transition_mutex_);
        if (failure() != errc::ok) return unexpected(errc::enclave_died);
        const std::uint64_t seq = ++transition_seq_;
        shared_u64& reply_seq = word(region_, words_.reply_seq());
        shared::store_relaxed(word(region_, words_.call_arg()), value);
        // release: the argument is visible before the call number.
        shared::store_release(word(region_, words_.call_seq()), seq);
        hooks().unpark(word(region_, words_.call_seq()));
        for (;;) {
            // acquire: the answer written before the reply number is visible.
            const std::uint64_t got = shared::load_acquire(reply_seq);
            if (got == seq) break;
            if (failure() != errc::ok) return unexpected(errc::enclave_died);
            hooks().park(reply_seq, got, 100'000'000);  // the monitor wakes us on death
        }
        return shared::load_relaxed(word(region_, words_.reply_value()));
    }

    void forget(process_host_channel& ch, rpc::endpoint_handover&& left) noexcept {
        std::lock_guard lock(mutex_);
        channels_.closed(ch, std::move(left));
    }

  private:
    // Appends what the pipe holds; false at its end.
    bool drain_pipe() {
        char buf[4096];
        for (;;) {
            const ssize_t n = read(diag_fd_, buf, sizeof buf);
            if (n > 0) {
                std::lock_guard lock(mutex_);
                pipe_text_.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            return n < 0 && errno == EAGAIN;
        }
    }

    // The monitor thread: reads the pipe until the child ends, then reaps
    // it and turns its end into errors for every open channel.
    void monitor() {
        pollfd fds[2] = {{pidfd_, POLLIN, 0}, {diag_fd_, POLLIN, 0}};
        // The liveness check runs four times per stall_timeout_ns.
        const std::uint64_t check_ms = config_.stall_timeout_ns / 4'000'000;
        const int timeout = config_.stall_timeout_ns == 0
                                ? -1
                                : static_cast<int>(std::clamp<std::uint64_t>(check_ms, 1, 1000));
        for (;;) {
            const int n = poll(fds, 2, timeout);
            if (n < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (timeout >= 0) check_liveness();
            if (n == 0) continue;
            if (fds[1].revents != 0 && !drain_pipe()) fds[1].fd = -1;  // its end
            if (fds[0].revents != 0) break;
        }
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        (void)drain_pipe();
        std::string why = describe(status);
        if (WIFEXITED(status)) exit_code_.store(WEXITSTATUS(status), std::memory_order_release);
        bool report = false;
        {
            std::lock_guard lock(mutex_);
            if (!pipe_text_.empty()) why += "\n" + pipe_text_;
            diagnostic_ = why;
            dead_ = true;
            report = !stopping_;
            const errc reason = failure_of(status);
            failure_.store(reason, std::memory_order_release);
            for (process_host_channel* ch : channels_.open())
                ch->post_failure(reason);
        }
        died_.notify_all();
        hooks().unpark(word(region_, words_.ready()));
        hooks().unpark(word(region_, words_.reply_seq()));
        if (report)
            std::fprintf(stderr, "airlock: enclave process %d %s\n", static_cast<int>(pid_),
                         why.c_str());
    }

    // The liveness check (enclave_internal.hh): when a channel is stalled,
    // every open channel fails with peer_stalled and failure() says so; the
    // enclave is left as it is (the destructor stops or kills it).
    void check_liveness() {
        if (stalled_.load(std::memory_order_relaxed)) return;
        const std::uint64_t now = hooks().now_ns();
        const auto stall = liveness_.check(region_, now, config_.stall_timeout_ns);
        if (!stall) return;
        std::lock_guard lock(mutex_);
        if (dead_) return;
        stalled_.store(true, std::memory_order_relaxed);
        diagnostic_ = "stalled: channel " + std::to_string(stall->channel) +
                      " had calls unread for " + std::to_string(stall->for_ns / 1'000'000) +
                      " ms and the enclave made no progress on it";
        failure_.store(errc::peer_stalled, std::memory_order_release);
        for (process_host_channel* ch : channels_.open())
            ch->post_failure(errc::peer_stalled);
    }

    // What the enclave's end means for its calls: enclave_memory_exhausted
    // when it ran out of its budget, else enclave_died.
    static errc failure_of(int status) noexcept {
        return WIFEXITED(status) && WEXITSTATUS(status) == memory_exit_code
                   ? errc::enclave_memory_exhausted
                   : errc::enclave_died;
    }

    static std::string describe(int status) {
        if (WIFSIGNALED(status)) {
            const int sig = WTERMSIG(status);
            const char* abbrev = sigabbrev_np(sig);
            return "killed by signal " + std::to_string(sig) +
                   (abbrev != nullptr ? std::string(" (SIG") + abbrev + ")" : std::string());
        }
        const int code = WEXITSTATUS(status);
        if (code == sandbox_exit_code) return "stopped by the sandbox (a forbidden system call)";
        if (code == setup_exit_code) return "could not be set up";
        if (code == context_exit_code) return "could not build its program's context";
        if (code == terminate_exit_code) return "called std::terminate";
        if (code == memory_exit_code) return "ran out of its memory budget";
        if (code == 0) return "stopped on request";
        return "exited with status " + std::to_string(code);
    }

    enclave_config config_;
    ring::region_geometry geometry_;
    process_words words_;
    modelled_transition transition_;
    std::size_t region_size_ = 0;
    std::size_t untrusted_size_ = 0;  // after the region in the memfd
    int memfd_ = -1;
    std::byte* base_ = nullptr;
    ring::region region_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int diag_fd_ = -1;
    std::thread monitor_;

    mutable std::mutex mutex_;  // guards everything below, with the monitor
    std::condition_variable died_;
    bool dead_ = false;
    std::atomic<bool> stalled_{false};  // the liveness check found a channel stalled
    detail::liveness_check liveness_{config_.enclave_threads};  // the monitor thread's
    bool stopping_ = false;
    std::string pipe_text_;
    std::string diagnostic_;
    detail::host_channel_book<process_host_channel> channels_{config_.enclave_threads};
    std::atomic<errc> failure_{errc::ok};
    std::atomic<int> exit_code_{-1};          // the enclave process's exit status, once it exited
    detail::program_entry entry_;             // read by the child (a copy of it, after fork)
    std::optional<detail::log_drain> drain_;  // started after the fork: the child has none

    std::mutex transition_mutex_;  // one round trip at a time
    std::uint64_t transition_seq_ = 0;
};

}  // namespace

expected<std::unique_ptr<enclave>> detail::create_process_enclave(const enclave_config& config,
                                                                  program_entry entry) {
    if (config.enclave_memory == 0) return unexpected(errc::invalid_argument);
    auto e = std::make_unique<process_enclave>(config);
    // A child that died while starting was reported on stderr by the monitor.
    if (auto started = e->start(std::move(entry)); !started) return unexpected(started.error());
    return std::unique_ptr<enclave>(std::move(e));
}

}  // namespace airlock::platform

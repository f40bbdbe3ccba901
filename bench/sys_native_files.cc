// SPDX-License-Identifier: Apache-2.0
#include "sys_native_files.hh"

#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace airlock::bench {

namespace {

using steady = std::chrono::steady_clock;

std::uint64_t ns_since(steady::time_point t) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t).count());
}

// The same random page sequence generator as the enclave's workers.
struct xorshift {
    std::uint64_t x;
    explicit xorshift(std::uint64_t seed) : x(seed * 0x9e3779b97f4a7c15ull + 1) {}
    std::uint64_t next() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    }
};

constexpr std::size_t op_bytes(file_workload w) {
    return w == file_workload::read_64k ? 65536 : 4096;
}

int open_for(file_workload w, const std::string& path) {
    return w == file_workload::append_4k
               ? ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)
               : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

// One operation at a time: plain system calls.
bool run_sync(file_workload w, int fd, std::uint64_t file_bytes, steady::time_point deadline,
              std::vector<std::uint64_t>& lat) {
    const std::size_t size = op_bytes(w);
    std::vector<char> buf(size, 'b');
    xorshift rng(1);
    const std::uint64_t pages = file_bytes / 4096;
    std::uint64_t appended = 0;
    for (;;) {
        const steady::time_point start = steady::now();
        if (start >= deadline) return true;
        switch (w) {
            case file_workload::pread_4k:
                if (::pread(fd, buf.data(), size,
                            static_cast<off_t>((rng.next() % pages) * 4096)) !=
                    static_cast<ssize_t>(size))
                    return false;
                break;
            case file_workload::read_64k: {
                ssize_t n = ::read(fd, buf.data(), size);
                if (n == 0) {  // the end: back to the start
                    (void)::lseek(fd, 0, SEEK_SET);
                    n = ::read(fd, buf.data(), size);
                }
                if (n != static_cast<ssize_t>(size)) return false;
                break;
            }
            case file_workload::append_4k:
                if (::write(fd, buf.data(), size) != static_cast<ssize_t>(size)) return false;
                if (++appended % appends_per_sync == 0 && ::fdatasync(fd) != 0) return false;
                break;
        }
        lat.push_back(ns_since(start));
    }
}

// k operations in flight through io_uring, resubmitted as they complete.
bool run_uring(file_workload w, int fd, std::uint64_t file_bytes, std::size_t k,
               steady::time_point deadline, std::vector<std::uint64_t>& lat) {
    io_uring ring;
    if (io_uring_queue_init(static_cast<unsigned>(std::max<std::size_t>(k, 8)), &ring, 0) != 0)
        return false;
    const std::size_t size = op_bytes(w);
    struct slot {
        std::vector<char> buf;
        steady::time_point start;
        bool syncing = false;  // the fdatasync after an append
    };
    std::vector<slot> slots(k);
    xorshift rng(1);
    const std::uint64_t pages = file_bytes / 4096;
    std::uint64_t cursor = 0, appended = 0;
    auto prepare = [&](std::size_t i, bool sync) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);  // never null: at most k in the ring
        slot& s = slots[i];
        s.syncing = sync;
        if (sync) {
            io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
        } else {
            s.start = steady::now();
            switch (w) {
                case file_workload::pread_4k:
                    io_uring_prep_read(sqe, fd, s.buf.data(), static_cast<unsigned>(size),
                                       (rng.next() % pages) * 4096);
                    break;
                case file_workload::read_64k:
                    io_uring_prep_read(sqe, fd, s.buf.data(), static_cast<unsigned>(size), cursor);
                    cursor = cursor + size >= file_bytes ? 0 : cursor + size;
                    break;
                case file_workload::append_4k:  // O_APPEND: at the end, whatever the offset
                    io_uring_prep_write(sqe, fd, s.buf.data(), static_cast<unsigned>(size),
                                        static_cast<std::uint64_t>(-1));
                    break;
            }
        }
        io_uring_sqe_set_data64(sqe, i);
    };
    for (std::size_t i = 0; i < k; ++i) {
        slots[i].buf.assign(size, 'b');
        prepare(i, false);
    }
    std::size_t in_flight = k;
    bool ok = true;
    io_uring_submit(&ring);
    while (in_flight > 0) {
        io_uring_cqe* cqe = nullptr;
        if (io_uring_wait_cqe(&ring, &cqe) != 0) {
            ok = false;
            break;
        }
        unsigned head = 0, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            ++seen;
            const std::size_t i = io_uring_cqe_get_data64(cqe);
            slot& s = slots[i];
            const bool was_sync = s.syncing;
            if (was_sync ? cqe->res != 0 : cqe->res != static_cast<int>(size)) ok = false;
            if (!was_sync && w == file_workload::append_4k && ++appended % appends_per_sync == 0) {
                prepare(i, true);  // its latency runs on to the end of the sync
                continue;
            }
            lat.push_back(ns_since(s.start));
            if (ok && steady::now() < deadline)
                prepare(i, false);
            else
                --in_flight;
        }
        io_uring_cq_advance(&ring, seen);
        io_uring_submit(&ring);
    }
    io_uring_queue_exit(&ring);
    return ok;
}

}  // namespace

file_run run_native_file(file_workload w, const std::string& path, std::uint64_t file_bytes,
                         std::size_t in_flight, double seconds, int cpu) {
    file_run r;
    std::thread t([&] {
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        }
        const int fd = open_for(w, path);
        if (fd < 0) return;
        std::vector<std::uint64_t> lat;
        lat.reserve(1 << 16);
        const steady::time_point deadline =
            steady::now() +
            std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
        const bool ok = in_flight <= 1 ? run_sync(w, fd, file_bytes, deadline, lat)
                                       : run_uring(w, fd, file_bytes, in_flight, deadline, lat);
        ::close(fd);
        if (!ok || lat.empty()) return;
        std::sort(lat.begin(), lat.end());
        r = {true, lat.size(), lat[lat.size() / 2], lat[lat.size() * 99 / 100]};
    });
    t.join();
    return r;
}

}  // namespace airlock::bench

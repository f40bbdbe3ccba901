// SPDX-License-Identifier: Apache-2.0
// The sys layer's fuzz driver (input format in sys_fuzz_driver.hh).
//
// What it checks, on every input:
// - no crash, no undefined behaviour (the fuzz build runs ASan and UBSan);
// - every call the enclave starts completes exactly once: at tear-down the
//   host answers what is left (or the link has faulted or been told the
//   service stopped) and the executor settles;
// - a completion out of its call's contract (more bytes than asked or
//   given, a count that is not the bytes that came, data with an error, an
//   errno outside every list, an id that is stale or answered already)
//   faults the link; a stream of only honest completions never does;
// - no byte past a caller's buffer is written; a call that failed left its
//   buffer as it was; a call that succeeded holds the bytes of the first
//   answer the host wrote for it (unless the input wrote records of its own,
//   which may have answered first);
// - a call that makes a handle and was cancelled, then answered with
//   success, gets a close for that handle; the enclave sends no other close.
#include "sys_fuzz_driver.hh"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/task.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/ring/region.hh"
#include "airlock/ring/spsc_ring.hh"
#include "airlock/sys/client.hh"
#include "airlock/sys/protocol.hh"
#include "fuzz_support.hh"

namespace airlock::fuzz {
namespace {

using sys::wire::op;

const char* fault_reason = "";  // the link's, for the report

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "sys fuzz: guarantee broken: %s (the link's fault: %s)\n", what,
                 fault_reason);
    std::abort();
}
void require(bool ok, const char* what) {
    if (!ok) broken(what);
}

class input {
  public:
    input(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
    bool done() const { return at_ >= n_; }
    std::uint8_t u8() { return at_ < n_ ? d_[at_++] : 0; }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v |= static_cast<std::uint64_t>(u8()) << (8 * i);
        return v;
    }

  private:
    const std::uint8_t* d_;
    std::size_t n_;
    std::size_t at_ = 0;
};

constexpr std::size_t canary = 16;
constexpr std::byte fill{0x5a};

struct call_rec {
    op kind{};
    std::uint64_t asked = 0;                      // bytes asked (reads) or given (send)
    std::vector<std::byte> buf;                   // the reply's room, then a canary
    std::array<std::span<std::byte>, 2> parts{};  // read: scattered in two
    std::vector<std::byte> payload;               // send: the bytes given
    std::optional<async::cancellation_source> source;
    sys::handle makes = 0;
    int completions = 0;
    std::optional<sys::result<sys::outcome>> outcome;
    bool cancelled = false;
    // The first answer the host wrote with this call's exact id.
    bool answered = false;
    bool first_honest_success = false;
    std::vector<std::byte> first_data;  // recv/read: the bytes it carried
};

// A request the host took.
struct taken {
    std::uint64_t id = 0;
    op kind{};
    std::uint64_t target = 0;
    std::size_t call = 0;  // into calls_, or no_call (a close the client posted)
    bool answered = false;
};
constexpr std::size_t no_call = ~std::size_t{0};

class driver {
  public:
    driver(std::size_t max_requests, std::size_t capacity)
        : geometry_(platform::channel_geometry(1, 4096, 1, capacity)),
          size_(ring::region::required_size(geometry_).value()),
          memory_(static_cast<std::byte*>(
              ::operator new (size_, std::align_val_t{ring::wire::region_alignment}))),
          region_((std::memset(memory_.get(), 0, size_),
                   ring::region::format({memory_.get(), size_}, geometry_).value())),
          link_(platform::link_view(region_, 1, 1, 0, 0)),
          ex_(region_.doorbell(platform::enclave_bell(0)), hooks_),
          client_(std::make_unique<sys::client>(
              ex_, link_, hooks_,
              sys::client_options{.max_requests = max_requests, .max_handles = 64})),
          requests_(link_.to_service, {{}, sys::wire::max_message}),
          completions_(link_.from_service) {}

    void play(input& in) {
        while (!in.done()) {
            switch (static_cast<sys_op>(in.u8() % static_cast<std::uint8_t>(sys_op::count))) {
                case sys_op::e_call: {
                    const std::uint8_t kind = in.u8(), size = in.u8(), flags = in.u8();
                    start_call(kind, size, flags);
                    break;
                }
                case sys_op::e_cancel: {
                    const std::uint8_t which = in.u8();
                    if (calls_.empty()) break;
                    call_rec& c = calls_[calls_.size() - 1 - which % calls_.size()];
                    if (c.source) {
                        c.cancelled = true;
                        (void)c.source->request_cancellation();
                    }
                    break;
                }
                case sys_op::h_take:
                    take();
                    break;
                case sys_op::h_answer:
                    answer(in);
                    break;
                case sys_op::h_record: {
                    const auto tag = static_cast<std::uint16_t>(in.u8() | in.u8() << 8);
                    std::vector<std::byte> m(in.u8());
                    for (auto& b : m)
                        b = std::byte{in.u8()};
                    send(tag, std::move(m));
                    lawless_ = true;
                    break;
                }
                case sys_op::run: {
                    const int n = in.u8() % 8 + 1;
                    for (int i = 0; i < n; ++i)
                        round();
                    break;
                }
                case sys_op::h_stop:
                    ring::shared::store_release(link_.words[sys::wire::service_state].word,
                                                sys::wire::service_stopped);
                    stopped_ = true;
                    break;
                case sys_op::count:
                    break;
            }
        }
        finish();
    }

  private:
    // --- the enclave's calls ----------------------------------------------------

    void start_call(std::uint8_t kind, std::uint8_t size, std::uint8_t flags) {
        static constexpr op kinds[call_kinds] = {op::recv,     op::read,        op::send,
                                                 op::accept,   op::open,        op::stat,
                                                 op::list_dir, op::receive_from};
        call_rec& c = calls_.emplace_back();
        const std::size_t index = calls_.size() - 1;
        c.kind = kinds[kind % call_kinds];
        c.asked = size;
        std::size_t room = 0;
        switch (c.kind) {
            case op::recv:
            case op::read:
            case op::list_dir:
                room = size;
                break;
            case op::accept:
                room = sys::wire::max_sockaddr;
                break;
            case op::stat:
                room = sys::wire::stat_record_words * 8;
                break;
            case op::receive_from:
                room = sys::wire::max_sockaddr + size;
                break;
            default:
                break;
        }
        c.buf.assign(room + canary, fill);
        c.parts = {std::span(c.buf).first(room / 2),
                   std::span(c.buf).subspan(room / 2, room - room / 2)};
        if (c.kind == op::send) {
            c.payload.resize(size);
            for (std::size_t i = 0; i < size; ++i)
                c.payload[i] = std::byte(static_cast<std::uint8_t>(i * 7 + index));
        }
        if (c.kind == op::accept || c.kind == op::open) {
            auto h = client_->make_handle(sys::handle_kind::socket);
            if (!h) {
                c.completions = 1;
                c.outcome = sys::result<sys::outcome>(unexpected(h.error()));
                return;
            }
            c.makes = *h;
        }
        async::cancellation_token token;
        if ((flags & call_cancellable) != 0) {
            c.source.emplace();
            token = c.source->token();
        }
        if ((flags & (call_starts_now | call_cancellable)) != 0)
            ex_.spawn_now(run_call(index), token);
        else
            ex_.spawn(run_call(index));
    }

    async::task<void> run_call(std::size_t index) {
        call_rec& c = calls_[index];
        const std::size_t room = c.buf.size() - canary;
        sys::request r{.op = c.kind, .target = std::uint64_t{1} << 32, .makes = c.makes};
        r.args[3] = index;  // lets the host tell its calls apart
        switch (c.kind) {
            case op::recv:
            case op::list_dir:
            case op::receive_from:
                r.args[0] = c.asked;
                r.asked = c.asked;
                r.into = std::span(c.buf).first(room);
                break;
            case op::read:
                r.args[0] = c.asked;
                r.asked = c.asked;
                r.scatter = c.parts;
                break;
            case op::send:
                r.payload = c.payload;
                r.asked = c.asked;
                break;
            case op::accept:
            case op::stat:
                r.into = std::span(c.buf).first(room);
                break;
            case op::open:
                r.target = c.makes;
                r.payload = std::as_bytes(std::span("p", 1));
                break;
            default:
                break;
        }
        if (c.kind == op::accept) r.args[0] = c.makes;
        auto o = co_await client_->call(r);
        call_rec& again = calls_[index];
        require(++again.completions == 1, "a call completed twice");
        again.outcome = std::move(o);
    }

    // --- the host ---------------------------------------------------------------

    void take() {
        for (;;) {
            auto m = requests_.try_receive();
            if (!m) break;
            require(m->bytes.size() >= sys::wire::request_header_bytes,
                    "a request shorter than its header");
            taken t;
            std::uint64_t words[6];
            std::memcpy(words, m->bytes.data(), sizeof words);
            t.id = words[0];
            t.target = words[1];
            t.kind = static_cast<op>(m->tag);
            t.call = words[5] < calls_.size() && t.kind != op::close ? words[5] : no_call;
            if (t.kind == op::close) {
                // Only for a cancelled call that made this handle, once.
                bool owner = false;
                for (const call_rec& c : calls_)
                    owner |= c.makes == t.target && c.cancelled;
                require(owner, "a close for a handle no cancelled call made");
                for (std::uint64_t h : closes_)
                    require(h != t.target, "a second close for one handle");
                closes_.push_back(t.target);
            }
            taken_.push_back(t);
        }
        requests_.publish();
    }

    void answer(input& in) {
        const std::uint8_t which = in.u8();
        const auto mode = static_cast<answer_mode>(in.u8() % answer_modes);
        if (taken_.empty()) return;
        taken& t = taken_[taken_.size() - 1 - which % taken_.size()];
        call_rec* c = t.call != no_call ? &calls_[t.call] : nullptr;
        std::uint64_t id = t.id;
        std::int64_t result = 0;
        std::uint64_t aux = 0;
        std::vector<std::byte> data;
        bool honest = false, out_of_contract = false;
        switch (mode) {
            case answer_mode::honest:
                honest = true;
                honest_success(t, c, in.u8(), result, aux, data);
                break;
            case answer_mode::honest_errno:
                honest = true;
                result = -ECANCELED;
                break;
            case answer_mode::again:
                result = -ECANCELED;
                honest = true;
                break;
            case answer_mode::too_many:
                out_of_contract = true;
                if (c != nullptr && (t.kind == op::recv || t.kind == op::read)) {
                    result = static_cast<std::int64_t>(c->asked + 1);
                    data.assign(c->asked + 1, std::byte{0x77});
                } else if (c != nullptr && t.kind == op::send) {
                    result = static_cast<std::int64_t>(c->asked + 1);
                } else {
                    // A call that makes nothing, or a close, says 0; a listing
                    // of one entry or a datagram of one byte with no data
                    // does not add up.
                    result = 1;
                }
                break;
            case answer_mode::short_data:
                out_of_contract = true;
                if (c != nullptr && (t.kind == op::recv || t.kind == op::read) && c->asked > 0) {
                    result = static_cast<std::int64_t>(c->asked);
                    data.assign(c->asked - 1, std::byte{0x77});
                } else {
                    result = -ECANCELED;  // an error that carries data
                    data.assign(1, std::byte{0x77});
                }
                break;
            case answer_mode::stale_id:
                // The generation's top bit flipped: no request of this run
                // can have it (a generation moves by one per request).
                out_of_contract = true;
                id ^= std::uint64_t{1} << 63;
                break;
            case answer_mode::arbitrary: {
                result = static_cast<std::int64_t>(in.u64());
                aux = in.u64();
                data.resize(in.u8());
                for (auto& b : data)
                    b = std::byte{in.u8()};
                lawless_ = true;
                break;
            }
            case answer_mode::bad_errno:
                out_of_contract = true;
                result = -9999;
                break;
        }
        if (id == t.id) {
            if (t.answered) out_of_contract = true;  // a duplicate: the slot moved on
            if (c != nullptr && !c->answered) {
                c->answered = true;
                c->first_honest_success = honest && result >= 0;
                c->first_data = data;
            }
            t.answered = true;
        }
        if (out_of_contract) must_fault_ = true;
        std::vector<std::byte> m(sys::wire::completion_header_bytes + data.size());
        std::memcpy(m.data(), &id, 8);
        std::memcpy(m.data() + 8, &result, 8);
        std::memcpy(m.data() + 16, &aux, 8);
        if (!data.empty()) std::memcpy(m.data() + 24, data.data(), data.size());
        send(sys::wire::completion_tag, std::move(m));
    }

    // A completion within the call's contract; `n` picks a byte count.
    void honest_success(const taken& t, call_rec* c, std::uint8_t n, std::int64_t& result,
                        std::uint64_t& aux, std::vector<std::byte>& data) {
        const std::uint64_t asked = c != nullptr ? c->asked : 0;
        const std::size_t count = asked == 0 ? 0 : n % (asked + 1);
        auto bytes = [&](std::size_t k) {
            std::vector<std::byte> b(k);
            for (std::size_t i = 0; i < k; ++i)
                b[i] = std::byte(static_cast<std::uint8_t>(n + 3 * i));
            return b;
        };
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        const auto* sab = reinterpret_cast<const std::byte*>(&sa);
        switch (t.kind) {
            case op::recv:
            case op::read:
                result = static_cast<std::int64_t>(count);
                data = bytes(count);
                break;
            case op::send:
                result = static_cast<std::int64_t>(count);
                break;
            case op::accept:
                data.assign(sab, sab + sizeof sa);
                break;
            case op::stat: {
                sys::wire::stat_record s{};
                s.size = n;
                s.mode = S_IFREG | 0644;
                s.nlink = 1;
                const auto* sb = reinterpret_cast<const std::byte*>(&s);
                data.assign(sb, sb + sizeof s);
                break;
            }
            case op::receive_from: {
                result = static_cast<std::int64_t>(count);
                aux = sizeof sa;
                data.assign(sab, sab + sizeof sa);
                auto b = bytes(count);
                data.insert(data.end(), b.begin(), b.end());
                break;
            }
            default:  // open, list_dir (no entries), close
                break;
        }
    }

    void send(std::uint16_t tag, std::vector<std::byte> m) {
        outgoing_.push_back({std::move(m), tag, std::nullopt});
        flush();
    }

    void flush() {
        while (!outgoing_.empty()) {
            auto& o = outgoing_.front();
            if (!o.out) o.out.emplace(o.tag, std::span<const std::byte>(o.bytes));
            auto sent = completions_.try_send(*o.out);
            if (!sent) return;
            outgoing_.pop_front();
        }
    }

    void round() {
        flush();
        ex_.run_once();
    }

    bool all_completed() const {
        for (const call_rec& c : calls_)
            if (c.completions != 1) return false;
        return true;
    }

    // --- tear-down and the checks -------------------------------------------

    void finish() {
        for (int pass = 0; pass < 64; ++pass) {
            for (int i = 0; i < 8; ++i)
                round();
            take();
            if (client_->fault() == errc::ok) {
                // Answer what is left, honestly.
                for (taken& t : taken_) {
                    if (t.answered) continue;
                    t.answered = true;
                    call_rec* c = t.call != no_call ? &calls_[t.call] : nullptr;
                    if (c != nullptr && !c->answered) c->answered = true;
                    std::vector<std::byte> m(sys::wire::completion_header_bytes);
                    const std::int64_t result = t.kind == op::close ? 0 : -ECANCELED;
                    std::memcpy(m.data(), &t.id, 8);
                    std::memcpy(m.data() + 8, &result, 8);
                    send(sys::wire::completion_tag, std::move(m));
                }
            }
            if (all_completed() && outgoing_.empty() && client_->in_flight() == 0) break;
            if (all_completed() && client_->fault() != errc::ok) break;
        }
        fault_reason = client_->fault_reason().c_str();
        require(all_completed(), "a call never completed");
        const errc fault = client_->fault();
        if (must_fault_) require(fault != errc::ok, "a completion out of contract did not fault");
        if (!must_fault_ && !lawless_)
            require(fault == errc::ok || (stopped_ && fault == errc::sys_service_stopped),
                    "honest completions faulted the link");
        for (const call_rec& c : calls_) {
            const std::size_t room = c.buf.size() - canary;
            for (std::size_t i = room; i < c.buf.size(); ++i)
                require(c.buf[i] == fill, "a byte past the caller's buffer was written");
            if (!*c.outcome) {
                for (std::size_t i = 0; i < room; ++i)
                    require(c.buf[i] == fill, "a failed call's buffer was written");
                // (A record of the input's own may have answered the id first.)
                if (fault == errc::ok && !lawless_ && c.cancelled && c.first_honest_success &&
                    c.makes != 0) {
                    bool closed = false;
                    for (std::uint64_t h : closes_)
                        closed |= h == c.makes;
                    require(closed, "a cancelled call's late descriptor was not closed");
                }
                continue;
            }
            const std::size_t n = (*c.outcome)->bytes;
            require(n <= room, "a reply larger than the room");
            if ((c.kind == op::recv || c.kind == op::read) && c.answered && !lawless_) {
                require(n <= c.first_data.size() &&
                            (n == 0 || std::memcmp(c.buf.data(), c.first_data.data(), n) == 0),
                        "the caller got other bytes than the host's first answer");
            }
        }
        fault_reason = "";
        client_.reset();  // before the executor: no call is left waiting
    }

    struct host_message {
        std::vector<std::byte> bytes;
        std::uint16_t tag;
        std::optional<ring::outgoing_message> out;
    };

    ring::region_geometry geometry_;
    std::size_t size_;
    std::unique_ptr<std::byte, aligned_delete> memory_;
    ring::region region_;
    platform::service_link link_;
    manual_hooks hooks_;
    async::executor ex_;
    std::deque<call_rec> calls_;  // stable: the calls' frames point into it
    std::unique_ptr<sys::client> client_;
    ring::ring_consumer requests_;
    ring::ring_producer completions_;
    std::vector<taken> taken_;
    std::vector<std::uint64_t> closes_;
    std::deque<host_message> outgoing_;
    bool must_fault_ = false;
    bool lawless_ = false;  // an arbitrary answer or record: no claim either way
    bool stopped_ = false;
};

}  // namespace
}  // namespace airlock::fuzz

int run_sys_fuzz_input(const std::uint8_t* data, std::size_t size) {
    using namespace airlock::fuzz;
    input in(data, size);
    const std::uint8_t config = in.u8();
    static constexpr std::size_t requests[] = {1, 2, 4, 64};
    static constexpr std::size_t capacities[] = {4096, 8192, 16384, 65536};
    driver d(requests[config & 3], capacities[(config >> 2) & 3]);
    d.play(in);
    return 0;
}

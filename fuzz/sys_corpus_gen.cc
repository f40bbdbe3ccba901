// SPDX-License-Identifier: Apache-2.0
// sys_corpus_gen: writes the seed corpus of the sys fuzz target.
//
//   sys_corpus_gen <dir>     writes seed-* files into <dir>
//
// Seeds reach the paths of the enclave's sys client that a host controls
// (HOSTILE-INPUTS #12-15): each kind of call answered honestly, with an
// errno, and with each out-of-contract answer (more bytes than asked, a
// count that is not the bytes, data with an error, a stale id, a
// duplicate, an errno outside every list, an arbitrary answer, a record
// that is not a completion); calls that make a handle cancelled before the
// host's success (their late descriptor gets a close); calls refused when
// every request slot is taken; the service stopping with calls in flight. The committed
// fuzz/corpus/sys is this program's output.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sys_fuzz_driver.hh"

using airlock::fuzz::answer_mode;
using airlock::fuzz::sys_op;

namespace {

struct seed {
    std::vector<std::uint8_t> b;
    explicit seed(std::uint8_t config) { b.push_back(config); }
    seed& call(std::uint8_t kind, std::uint8_t size, std::uint8_t flags = 2) {
        b.insert(b.end(), {static_cast<std::uint8_t>(sys_op::e_call), kind, size, flags});
        return *this;
    }
    seed& cancel(std::uint8_t which = 0) {
        b.insert(b.end(), {static_cast<std::uint8_t>(sys_op::e_cancel), which});
        return *this;
    }
    seed& take() {
        b.push_back(static_cast<std::uint8_t>(sys_op::h_take));
        return *this;
    }
    seed& answer(std::uint8_t which, answer_mode mode, std::uint8_t n = 0) {
        b.insert(b.end(), {static_cast<std::uint8_t>(sys_op::h_answer), which,
                           static_cast<std::uint8_t>(mode)});
        if (mode == answer_mode::honest) b.push_back(n);
        return *this;
    }
    seed& run(std::uint8_t n = 3) {
        b.insert(b.end(), {static_cast<std::uint8_t>(sys_op::run), n});
        return *this;
    }
    seed& stop() {
        b.push_back(static_cast<std::uint8_t>(sys_op::h_stop));
        return *this;
    }
    seed& raw(std::initializer_list<std::uint8_t> bytes) {
        b.insert(b.end(), bytes);
        return *this;
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: sys_corpus_gen <dir>\n");
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    auto write = [&](const std::string& name, const seed& s) {
        std::ofstream out(dir / ("seed-" + name), std::ios::binary);
        out.write(reinterpret_cast<const char*>(s.b.data()),
                  static_cast<std::streamsize>(s.b.size()));
    };
    const char* kinds[] = {"recv", "read", "send",     "accept",
                           "open", "stat", "list-dir", "receive-from"};
    for (std::uint8_t k = 0; k < 8; ++k) {
        write(std::string("honest-") + kinds[k],
              seed(0x03).call(k, 40).run(1).take().answer(0, answer_mode::honest, 23).run());
        write(std::string("errno-") + kinds[k],
              seed(0x03).call(k, 40).run(1).take().answer(0, answer_mode::honest_errno).run());
    }
    const char* faults[] = {"", "", "too-many", "short-data", "stale-id", "", "", "bad-errno"};
    for (auto m : {answer_mode::too_many, answer_mode::short_data, answer_mode::stale_id,
                   answer_mode::bad_errno})
        for (std::uint8_t k = 0; k < 4; ++k)
            write(std::string(faults[static_cast<int>(m)]) + "-" + kinds[k],
                  seed(0x03).call(k, 40).call(0, 8).run(1).take().answer(1, m).run());
    write("duplicate", seed(0x03)
                           .call(0, 16)
                           .run(1)
                           .take()
                           .answer(0, answer_mode::honest, 5)
                           .run()
                           .answer(0, answer_mode::again)
                           .run());
    write("arbitrary", seed(0x03).call(0, 16).run(1).take().raw(
                           {static_cast<std::uint8_t>(sys_op::h_answer),
                            0,
                            static_cast<std::uint8_t>(answer_mode::arbitrary),
                            4,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            4,
                            1,
                            2,
                            3,
                            4}));
    write("foreign-record",
          seed(0x03)
              .call(0, 16)
              .run(1)
              .raw({static_cast<std::uint8_t>(sys_op::h_record), 9, 0, 3, 1, 2, 3})
              .run());
    for (std::uint8_t k = 3; k < 5; ++k)
        write(std::string("cancelled-then-made-") + kinds[k], seed(0x03)
                                                                  .call(k, 0, 1)
                                                                  .run(1)
                                                                  .take()
                                                                  .cancel()
                                                                  .run(2)
                                                                  .answer(0, answer_mode::honest)
                                                                  .run()
                                                                  .take()
                                                                  .answer(0, answer_mode::honest)
                                                                  .run());
    write("cancelled-then-refused", seed(0x03)
                                        .call(3, 0, 1)
                                        .run(1)
                                        .take()
                                        .cancel()
                                        .run(2)
                                        .answer(0, answer_mode::honest_errno)
                                        .run());
    write(
        "cancelled-recv-late-data",
        seed(0x03).call(0, 64, 1).run(1).take().cancel().answer(0, answer_mode::honest, 60).run());
    write("slots-exhausted", seed(0x00)
                                 .call(0, 8)
                                 .call(1, 8)
                                 .call(2, 8)
                                 .call(5, 0)
                                 .run(1)
                                 .take()
                                 .answer(0, answer_mode::honest, 3)
                                 .run()
                                 .take()
                                 .answer(0, answer_mode::honest, 3)
                                 .run());
    write("service-stops", seed(0x03)
                               .call(0, 32)
                               .call(1, 32, 1)
                               .call(7, 32)
                               .run(1)
                               .take()
                               .answer(2, answer_mode::honest, 9)
                               .stop()
                               .run()
                               .call(5, 0)
                               .run());
    write("big-send", seed(0x03)
                          .call(2, 255)
                          .call(2, 255)
                          .call(1, 255)
                          .run(1)
                          .take()
                          .answer(0, answer_mode::honest, 200)
                          .answer(1, answer_mode::honest, 250)
                          .run());
    return 0;
}

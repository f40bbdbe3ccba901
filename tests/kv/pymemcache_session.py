#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Drives airlock-kv with Debian's pymemcache: every command, noreply, a CAS
race between two clients, expiry, values near -I, eviction under -m.

Usage: pymemcache_session.py PORT SMALL_PORT   (SMALL_PORT: -m 1, -I 64k)
Exit status: 0 pass, 1 fail, 77 pymemcache missing.
"""
import sys
import time

try:
    from pymemcache.client.base import Client
    from pymemcache.exceptions import MemcacheServerError
except ImportError:
    sys.exit(77)


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main():
    port, small_port = int(sys.argv[1]), int(sys.argv[2])
    c = Client(("127.0.0.1", port), default_noreply=False)
    d = Client(("127.0.0.1", port), default_noreply=False)
    c.flush_all()
    check(c.set("a", b"1", expire=0) is True, "set")
    check(c.get("a") == b"1", "get")
    check(c.add("a", b"2") is False, "add existing")
    check(c.add("b", b"2") is True, "add new")
    check(c.replace("zz", b"x") is False, "replace missing")
    check(c.replace("b", b"3") is True, "replace")
    check(c.append("b", b"4") is True and c.prepend("b", b"2") is True, "append/prepend")
    check(c.get("b") == b"234", "after append/prepend")
    check(c.get_many(["a", "b", "nope"]) == {"a": b"1", "b": b"234"}, "get_many")
    check(c.incr("a", 41) == 42 and c.decr("a", 2) == 40, "incr/decr")
    check(c.incr("nope", 1) is None, "incr missing")
    check(c.touch("a", 100) is True and c.touch("nope", 1) is False, "touch")
    check(c.gat("a", 0) == b"40" if hasattr(c, "gat") else True, "gat")
    check(c.delete("a") is True and c.delete("a", noreply=False) is False, "delete")
    # noreply everywhere it is allowed: the replies must not leak into the next command.
    c.set("n", b"v", noreply=True)
    c.add("n2", b"v", noreply=True)
    c.append("n", b"w", noreply=True)
    c.incr("n3", 1, noreply=True)
    c.touch("n", 10, noreply=True)
    c.delete("n2", noreply=True)
    check(c.get("n") == b"vw" and c.get("n2") is None, "noreply commands")
    # A CAS race: the second writer with the same token loses.
    c.set("r", b"0")
    _, tok1 = c.gets("r")
    _, tok2 = d.gets("r")
    check(tok1 == tok2, "same cas token")
    check(c.cas("r", b"c", tok1) is True, "first cas wins")
    check(d.cas("r", b"d", tok2) is False, "second cas loses")
    check(d.cas("gone", b"d", b"1") is None, "cas on a missing key")
    check(c.get("r") == b"c", "cas result")
    # Expiry with a short TTL.
    c.set("e", b"x", expire=1)
    check(c.get("e") == b"x", "before expiry")
    time.sleep(2.1)
    check(c.get("e") is None, "after expiry")
    # Values near -I (1 MiB): the largest that fits, then one byte more.
    big = 1048576 - 48 - 8 - len("big") - 1 - 2
    check(c.set("big", b"v" * big) is True, "largest value")
    check(c.get("big") == b"v" * big, "largest value read back")
    try:
        c.set("big", b"v" * (big + 1))
        check(False, "too large accepted")
    except MemcacheServerError as e:
        check("object too large" in str(e), "too large error")
    check(c.get("big") is None, "failed set removed the old value")
    stats = c.stats()
    check(stats.get(b"cmd_get", 0) > 0 and b"curr_items" in stats, "stats")
    check(c.version().startswith(b"1.6"), "version")
    # Eviction under -m 1: write 3 MiB of 32 KiB values, the newest stay.
    s = Client(("127.0.0.1", small_port), default_noreply=False)
    for i in range(96):
        check(s.set("k%d" % i, b"x" * 32768) is True, "set under -m")
    check(s.get("k95") == b"x" * 32768, "newest kept")
    check(s.get("k0") is None, "oldest evicted")
    check(int(s.stats()[b"evictions"]) > 0, "evictions counted")
    print("pymemcache: ok")


main()

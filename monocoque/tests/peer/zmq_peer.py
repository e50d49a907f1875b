#!/usr/bin/env python3
"""A libzmq peer (through pyzmq) for monocoque's interop tests.

The peer creates one socket, binds and/or connects it, prints ``READY <last_endpoint>`` and then
runs one scenario. Every line it prints is flushed at once. Output lines:

    READY <endpoint>      socket is bound/connected (LAST_ENDPOINT, so wildcard ports resolve)
    MSG <f1> <f2> ...     a received message: each frame hex-encoded, an empty frame is "-",
                          and a frame of 1024 bytes or more that is pattern(len, seed) as
                          "@<len>:<seed>" (same tokens are accepted on input)
    SENT <n>              (script) n messages were handed to libzmq
    OK <n>                the scenario finished: n messages handled as expected
    FAIL at <i>: <why>    a received message differs from the expected one (exit 1)
    TIMEOUT               a send or receive waited longer than --timeout-ms (exit 2)
    ERROR <why>           bad usage or bad command (exit 5)

Scenarios (``--scenario``, default ``script``):

    recv N      receive N messages, print each as a MSG line, then OK N
    send N      send canonical messages 0..N-1, print OK N, close with a flushing linger
    verify N    receive N messages, check message i is canonical(i); OK N or FAIL (also
                spelled ``--verify-seq N``)
    echo N      receive a message and send it back, N times (PAIR, REP, DEALER...); with
                --show each received message is printed as a MSG line too; then OK N
    duplex N    send canonical 0..N-1 and verify N canonical messages received, interleaved with
                a poller (PAIR); then OK N
    send-stdin  each stdin line is one message (frames as in MSG lines) until EOF or END
    script      stdin commands, one per line:
                  SEND <frames>   send one message; prints SENT 1
                  RECV [n]        receive n (default 1) messages, print them as MSG lines
                  TRYRECV         receive without waiting: a MSG line, or EMPTY
                  SENDSEQ n [s]   send canonical s..s+n-1; prints SENT n
                  VERIFY n [s]    receive and check canonical s..s+n-1; OK n or FAIL
                  SLEEP ms        sleep
                  QUIT            close and exit 0

Canonical message i (must match canonical_message() in monocoque/tests/common/mod.rs):

    frames       = 1 + i % 4
    size(i, 0)   = max(8, SIZES[i % 11])
    size(i, j)   = SIZES[(i + 5 * j) % 11] for j >= 1
    except that when i % 1000 == 999, the last frame's size is 100_000 instead
    frame 0      = i as 8-byte big endian, then filler bytes
    filler byte k of frame j (k counted from the first filler byte) = (7 * i + 13 * j + k) % 251
    SIZES        = [0, 1, 8, 29, 100, 254, 255, 256, 257, 1000, 4096]

pattern(len, seed): byte k = (seed + 31 * k) % 256 (so seed is the first byte).

The peer bounds its own lifetime: every blocking send/recv times out after --timeout-ms, the whole
run is cut at --max-seconds, and with --die-with-parent it exits as soon as its stdin reaches EOF
(the test process went away) in scenarios that do not read stdin.
"""

import argparse
import os
import sys
import threading
import time

try:
    import zmq
except ImportError:  # reported on stdout so the harness can say what is missing
    sys.stdout.write("ERROR pyzmq is not installed (python3 -m pip install pyzmq)\n")
    sys.stdout.flush()
    sys.exit(5)

SIZES = [0, 1, 8, 29, 100, 254, 255, 256, 257, 1000, 4096]
BIG_EVERY = 1000
BIG_SIZE = 100_000
MODULUS = 251
_PATTERN = bytes(k % MODULUS for k in range(MODULUS + BIG_SIZE + 1))

EXIT_OK, EXIT_FAIL, EXIT_TIMEOUT, EXIT_DEADLINE, EXIT_ORPHAN, EXIT_ERROR = 0, 1, 2, 3, 4, 5


def frame_sizes(i):
    n = 1 + i % 4
    sizes = [max(8, SIZES[i % len(SIZES)])]
    sizes += [SIZES[(i + 5 * j) % len(SIZES)] for j in range(1, n)]
    if i % BIG_EVERY == BIG_EVERY - 1:
        sizes[-1] = BIG_SIZE
    return sizes


def filler(i, j, length):
    start = (7 * i + 13 * j) % MODULUS
    return _PATTERN[start:start + length]


def canonical(i):
    frames = []
    for j, size in enumerate(frame_sizes(i)):
        if j == 0:
            frames.append(i.to_bytes(8, "big") + filler(i, 0, size - 8))
        else:
            frames.append(filler(i, j, size))
    return frames


def check(i, frames):
    """None when frames is canonical message i, else a one-line reason."""
    want = canonical(i)
    if len(frames) != len(want):
        got_idx = ""
        if frames and len(frames[0]) >= 8:
            got_idx = " (its index field is %d)" % int.from_bytes(bytes(frames[0][:8]), "big")
        return "expected %d frames, got %d%s" % (len(want), len(frames), got_idx)
    for j, (got, exp) in enumerate(zip(frames, want)):
        got = bytes(got)
        if got == exp:
            continue
        if len(got) != len(exp):
            return "frame %d: expected %d bytes, got %d" % (j, len(exp), len(got))
        k = next(k for k in range(len(exp)) if got[k] != exp[k])
        return "frame %d: byte %d is %02x, expected %02x" % (j, k, got[k], exp[k])
    return None


PATTERN_MIN = 1024
_BASES = {}


def pattern(length, seed):
    base = _BASES.get(seed)
    if base is None:
        base = _BASES[seed] = bytes((seed + 31 * k) % 256 for k in range(256))
    return (base * (length // 256 + 1))[:length]


def encode_frame(f):
    f = bytes(f)
    if not f:
        return "-"
    if len(f) >= PATTERN_MIN and f == pattern(len(f), f[0]):
        return "@%d:%d" % (len(f), f[0])
    return f.hex()


def decode_frame(t):
    if t == "-":
        return b""
    if t.startswith("@"):
        length, seed = t[1:].split(":")
        return pattern(int(length), int(seed))
    return bytes.fromhex(t)


def encode(frames):
    return " ".join(encode_frame(f) for f in frames)


def decode(tokens):
    return [decode_frame(t) for t in tokens]


class Timeout(Exception):
    pass


class Peer:
    def __init__(self, args):
        self.args = args
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(getattr(zmq, args.type.upper()))
        s = self.sock
        s.setsockopt(zmq.RCVTIMEO, args.timeout_ms)
        s.setsockopt(zmq.SNDTIMEO, args.timeout_ms)
        s.setsockopt(zmq.LINGER, 0)
        if args.sndhwm is not None:
            s.setsockopt(zmq.SNDHWM, args.sndhwm)
        if args.rcvhwm is not None:
            s.setsockopt(zmq.RCVHWM, args.rcvhwm)
        if args.routing_id is not None:
            s.setsockopt(zmq.ROUTING_ID, args.routing_id.encode())
        if args.reconnect_ivl is not None:
            s.setsockopt(zmq.RECONNECT_IVL, args.reconnect_ivl)
        for topic in args.subscribe or []:
            s.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self.sent_anything = False

    def open(self):
        for ep in self.args.bind or []:
            self.sock.bind(ep)
        for ep in self.args.connect or []:
            self.sock.connect(ep)
        last = self.sock.getsockopt(zmq.LAST_ENDPOINT)
        out("READY " + (last.decode() if last else "-"))

    def recv(self):
        try:
            return self.sock.recv_multipart(copy=True)
        except zmq.Again:
            raise Timeout()

    def send(self, frames):
        try:
            self.sock.send_multipart(frames, copy=len(frames) == 0 or max(map(len, frames)) < 65536)
        except zmq.Again:
            raise Timeout()
        self.sent_anything = True

    def close(self):
        linger = self.args.linger
        if linger is None:
            linger = self.args.flush_ms if self.sent_anything else 0
        self.sock.setsockopt(zmq.LINGER, linger)
        self.sock.close()
        self.ctx.term()

    # scenarios -------------------------------------------------------------------------------

    def recv_n(self, n):
        for _ in range(n):
            out("MSG " + encode(self.recv()))
        out("OK %d" % n)
        return True

    def send_seq(self, n, start=0):
        for i in range(start, start + n):
            self.send(canonical(i))

    def verify_seq(self, n, start=0):
        for i in range(start, start + n):
            why = check(i, self.recv())
            if why is not None:
                out("FAIL at %d: %s" % (i, why))
                return False
        out("OK %d" % n)
        return True

    def echo(self, n):
        for _ in range(n):
            msg = self.recv()
            if self.args.show:
                out("MSG " + encode(msg))
            self.send(msg)
        out("OK %d" % n)
        return True

    def duplex(self, n):
        poller = zmq.Poller()
        sent = received = 0
        deadline_ms = self.args.timeout_ms
        while sent < n or received < n:
            flags = (zmq.POLLIN if received < n else 0) | (zmq.POLLOUT if sent < n else 0)
            poller.register(self.sock, flags)
            events = dict(poller.poll(deadline_ms))
            ev = events.get(self.sock, 0)
            if not ev:
                raise Timeout()
            if ev & zmq.POLLIN:
                why = check(received, self.recv())
                if why is not None:
                    out("FAIL at %d: %s" % (received, why))
                    return False
                received += 1
            if ev & zmq.POLLOUT and sent < n:
                self.send(canonical(sent))
                sent += 1
        out("OK %d" % n)
        return True

    def send_stdin(self):
        count = 0
        for line in sys.stdin:
            line = line.strip()
            if line == "END":
                break
            if not line:
                continue
            self.send(decode(line.split()))
            count += 1
        out("OK %d" % count)
        return True

    def script(self):
        for line in sys.stdin:
            parts = line.split()
            if not parts:
                continue
            cmd, rest = parts[0].upper(), parts[1:]
            if cmd == "SEND":
                self.send(decode(rest))
                out("SENT 1")
            elif cmd == "RECV":
                for _ in range(int(rest[0]) if rest else 1):
                    out("MSG " + encode(self.recv()))
            elif cmd == "TRYRECV":
                try:
                    out("MSG " + encode(self.sock.recv_multipart(zmq.NOBLOCK)))
                except zmq.Again:
                    out("EMPTY")
            elif cmd == "SENDSEQ":
                self.send_seq(int(rest[0]), int(rest[1]) if len(rest) > 1 else 0)
                out("SENT %s" % rest[0])
            elif cmd == "VERIFY":
                if not self.verify_seq(int(rest[0]), int(rest[1]) if len(rest) > 1 else 0):
                    return False
            elif cmd == "SLEEP":
                time.sleep(int(rest[0]) / 1000.0)
                out("SLEPT")
            elif cmd == "QUIT":
                break
            else:
                out("ERROR unknown command %r" % cmd)
                return None
        return True


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def die(code, line=None):
    """Exits at once from any thread, without waiting for libzmq to flush."""
    if line:
        out(line)
    sys.stderr.flush()
    os._exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--type", required=True, help="PUSH, PULL, PAIR, REQ, REP, DEALER, ROUTER, PUB, SUB...")
    p.add_argument("--bind", action="append", help="endpoint to bind (repeatable)")
    p.add_argument("--connect", action="append", help="endpoint to connect (repeatable)")
    p.add_argument("--scenario", default="script", help="see above")
    p.add_argument("--verify-seq", type=int, metavar="N", help="same as --scenario 'verify N'")
    p.add_argument("--sndhwm", type=int)
    p.add_argument("--rcvhwm", type=int)
    p.add_argument("--linger", type=int, help="ZMQ_LINGER at close, ms (default: 0, or --flush-ms after sending)")
    p.add_argument("--flush-ms", type=int, default=10000, help="linger used after sending (default 10000)")
    p.add_argument("--timeout-ms", type=int, default=20000, help="limit for each send/recv (default 20000)")
    p.add_argument("--max-seconds", type=float, default=120.0, help="hard limit for the whole run")
    p.add_argument("--routing-id")
    p.add_argument("--reconnect-ivl", type=int, help="ZMQ_RECONNECT_IVL, ms")
    p.add_argument("--subscribe", action="append", help="SUB topic (repeatable)")
    p.add_argument("--show", action="store_true", help="echo: print received messages too")
    p.add_argument("--die-with-parent", action="store_true", help="exit when stdin reaches EOF")
    args = p.parse_args(argv)
    if args.verify_seq is not None:
        args.scenario = "verify %d" % args.verify_seq
    if not args.bind and not args.connect:
        p.error("give --bind and/or --connect")
    return args


def main(argv):
    args = parse_args(argv)
    name, *params = args.scenario.split()
    reads_stdin = name in ("script", "send-stdin")

    deadline = threading.Timer(args.max_seconds, die, (EXIT_DEADLINE, "TIMEOUT"))
    deadline.daemon = True
    deadline.start()
    if args.die_with_parent and not reads_stdin:
        def watch_stdin():
            # os.read on the raw fd: a daemon thread blocked inside sys.stdin's buffered reader
            # aborts the interpreter at shutdown.
            try:
                while os.read(0, 65536):
                    pass
            except OSError:
                pass
            die(EXIT_ORPHAN)

        threading.Thread(target=watch_stdin, daemon=True).start()

    peer = Peer(args)
    try:
        peer.open()
        n = int(params[0]) if params else 0
        if name == "recv":
            ok = peer.recv_n(n)
        elif name == "send":
            peer.send_seq(n)
            out("OK %d" % n)
            ok = True
        elif name == "verify":
            ok = peer.verify_seq(n)
        elif name == "echo":
            ok = peer.echo(n)
        elif name == "duplex":
            ok = peer.duplex(n)
        elif name == "send-stdin":
            ok = peer.send_stdin()
        elif name == "script":
            ok = peer.script()
            if ok is None:
                die(EXIT_ERROR)
        else:
            die(EXIT_ERROR, "ERROR unknown scenario %r" % args.scenario)
    except Timeout:
        die(EXIT_TIMEOUT, "TIMEOUT")
    except zmq.ZMQError as e:
        die(EXIT_ERROR, "ERROR zmq: %s" % e)
    except (ValueError, IndexError) as e:
        die(EXIT_ERROR, "ERROR %s" % e)
    if not ok:
        die(EXIT_FAIL)
    peer.close()
    return EXIT_OK


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter finalization: the stdin watcher may still be blocked

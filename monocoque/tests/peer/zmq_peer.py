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

Request/reply, routing and pub/sub scenarios (interop matrix); reply(m) = reversed(m) + [b"reply"]:

    serve N         receive canonical i, send reply(it), N times (REP, DEALER, PAIR)
    client N        send canonical i, receive and check reply(canonical i), lock-step (REQ, DEALER)
    client-delim N  the same with an empty delimiter frame in front of both (DEALER facing a REP)
    burst N         send canonical 0..N-1, then receive and check their N replies (DEALER)
    router-serve N  ROUTER: receive [id, canonical i], send [id, reply]; prints ID <id> once
                    (the routing id as an MSG frame token) and fails if a later id differs
    router-rep N    the same with [id, empty, canonical i] / [id, empty, reply] (facing a REQ)
    router-call N H ROUTER (with --router-mandatory): send [id, canonical i] to the peer whose
                    routing id is hex H, retrying while it is not routable yet, and check
                    [id, reply(canonical i)] comes back, lock-step
    subscriber N    SUB/XSUB: skip PROBE messages (printing SUBSCRIBED at the first one), then
                    receive exactly the messages pubsub(i), i < N, whose topic matches
                    SUB_TOPIC, in order; OK <count of matching>
    pubseq N        PUB/XPUB: send pubsub(i) for i < N; OK N
    xpublish N      XPUB: receive one subscription message, print it as MSG, then pubseq N

    pubsub(i)       [TOPICS[i % 4] + frame 0 of canonical i] + the other frames of canonical i
    PROBE           [b"topic.a:probe"]

Serve mode (``--serve``, no --type): no socket at first; prints ``READY -``, then reads stdin
commands, so one process serves many sockets in turn. A failure or timeout is reported (FAIL,
TIMEOUT, ERROR lines) but does not end the peer:

    OPEN <args>     close the current socket, open one as the command-line options say
                    (--type, --bind, --connect, --routing-id-hex, --subscribe, ...): READY <ep>
    RUN <scenario>  run one of the scenarios above on it
    CLOSE           close it (linger 0 unless --linger was given); prints CLOSED
    SEND, RECV, TRYRECV, SENDSEQ, VERIFY, SLEEP as in script mode; QUIT or EOF exits

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
TOPICS = [b"topic.b", b"topic.a", b"topic", b"topic.ab"]
SUB_TOPIC = b"topic.a"
PROBE = [b"topic.a:probe"]

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


def reply(frames):
    """What serving sockets send back for a request: its frames reversed, then b"reply"."""
    return [bytes(f) for f in reversed(frames)] + [b"reply"]


def pubsub(i):
    frames = canonical(i)
    return [TOPICS[i % 4] + frames[0]] + frames[1:]


def describe(got, want):
    """One line on how frame lists differ (never the whole payload)."""
    got = [bytes(f) for f in got]
    if len(got) != len(want):
        return "expected %d frames, got %d" % (len(want), len(got))
    for j, (g, w) in enumerate(zip(got, want)):
        if g == w:
            continue
        if len(g) != len(w):
            return "frame %d: expected %d bytes, got %d" % (j, len(w), len(g))
        k = next(k for k in range(len(w)) if g[k] != w[k])
        return "frame %d: byte %d is %02x, expected %02x" % (j, k, g[k], w[k])
    return None


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


class UnknownScenario(Exception):
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
        if args.routing_id_hex is not None:
            s.setsockopt(zmq.ROUTING_ID, bytes.fromhex(args.routing_id_hex))
        if args.router_mandatory:
            s.setsockopt(zmq.ROUTER_MANDATORY, 1)
        if args.reconnect_ivl is not None:
            s.setsockopt(zmq.RECONNECT_IVL, args.reconnect_ivl)
        for topic in args.subscribe or []:
            s.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self.auth = None
        self.setup_security(args)
        self.sent_anything = False

    def setup_security(self, args):
        """PLAIN/CURVE options, and a zmq.auth authenticator on this peer's context."""
        s = self.sock
        if args.plain_server:
            s.setsockopt(zmq.PLAIN_SERVER, 1)
        if args.plain_user is not None:
            s.setsockopt(zmq.PLAIN_USERNAME, args.plain_user.encode())
            s.setsockopt(zmq.PLAIN_PASSWORD, (args.plain_password or "").encode())
        if args.curve_server is not None:
            s.setsockopt(zmq.CURVE_SECRETKEY, args.curve_server.encode())
            s.setsockopt(zmq.CURVE_SERVER, 1)
        if args.curve_serverkey is not None:
            s.setsockopt(zmq.CURVE_PUBLICKEY, args.curve_public.encode())
            s.setsockopt(zmq.CURVE_SECRETKEY, args.curve_secret.encode())
            s.setsockopt(zmq.CURVE_SERVERKEY, args.curve_serverkey.encode())
        if args.zap_domain is not None:
            s.setsockopt(zmq.ZAP_DOMAIN, args.zap_domain.encode())
        if args.heartbeat_ivl is not None:
            s.setsockopt(zmq.HEARTBEAT_IVL, args.heartbeat_ivl)
        if args.heartbeat_ttl is not None:
            s.setsockopt(zmq.HEARTBEAT_TTL, args.heartbeat_ttl)
        if args.heartbeat_timeout is not None:
            s.setsockopt(zmq.HEARTBEAT_TIMEOUT, args.heartbeat_timeout)
        if args.auth_plain or args.auth_curve_allow:
            from zmq.auth.thread import ThreadAuthenticator
            self.auth = ThreadAuthenticator(self.ctx)
            self.auth.start()
            if args.auth_plain:
                self.auth.configure_plain(domain="*", passwords=dict(
                    pair.split("=", 1) for pair in args.auth_plain))
            if args.auth_curve_allow:
                # A directory of zcert public key files, as zmq.auth reads them.
                import tempfile
                self.cert_dir = tempfile.TemporaryDirectory()
                for k, key in enumerate(args.auth_curve_allow):
                    with open(os.path.join(self.cert_dir.name, "client%d.key" % k), "w") as f:
                        f.write('metadata\ncurve\n    public-key = "%s"\n' % key)
                self.auth.configure_curve(domain="*", location=self.cert_dir.name)

    def open(self):
        for ep in self.args.bind or []:
            self.sock.bind(ep)
        for ep in self.args.connect or []:
            self.sock.connect(ep)
        for topic in self.args.xsubscribe or []:
            self.send([b"\x01" + topic.encode()])
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

    def close(self, linger=None):
        if linger is None:
            linger = self.args.linger
        if linger is None:
            linger = self.args.flush_ms if self.sent_anything else 0
        self.sock.setsockopt(zmq.LINGER, linger)
        self.sock.close()
        if self.auth is not None:
            self.auth.stop()
        self.ctx.term()

    def run(self, scenario):
        """Runs one scenario: True when it passed, False after printing FAIL, None for script
        mode's bad commands; raises UnknownScenario, Timeout, zmq.ZMQError."""
        name, *params = scenario.split()
        n = int(params[0]) if params else 0
        if name == "recv":
            return self.recv_n(n)
        if name == "send":
            self.send_seq(n)
            out("OK %d" % n)
            return True
        if name == "verify":
            return self.verify_seq(n)
        if name == "echo":
            return self.echo(n)
        if name == "duplex":
            return self.duplex(n)
        if name == "send-stdin":
            return self.send_stdin()
        if name == "script":
            return self.script()
        if name == "serve":
            return self.serve(n)
        if name in ("client", "client-delim"):
            return self.client(n, name == "client-delim")
        if name == "burst":
            return self.burst(n)
        if name in ("router-serve", "router-rep"):
            return self.router_serve(n, name == "router-rep")
        if name == "router-call":
            return self.router_call(n, bytes.fromhex(params[1]))
        if name == "subscriber":
            return self.subscriber(n)
        if name == "pubseq":
            return self.pubseq(n)
        if name == "xpublish":
            out("MSG " + encode(self.recv()))
            return self.pubseq(n)
        raise UnknownScenario(scenario)

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

    def serve(self, n):
        for i in range(n):
            msg = self.recv()
            why = check(i, msg)
            if why is not None:
                out("FAIL at %d: request %s" % (i, why))
                return False
            self.send(reply(msg))
        out("OK %d" % n)
        return True

    def client(self, n, delim):
        head = [b""] if delim else []
        for i in range(n):
            self.send(head + canonical(i))
            why = describe(self.recv(), head + reply(canonical(i)))
            if why is not None:
                out("FAIL at %d: reply %s" % (i, why))
                return False
        out("OK %d" % n)
        return True

    def burst(self, n):
        self.send_seq(n)
        for i in range(n):
            why = describe(self.recv(), reply(canonical(i)))
            if why is not None:
                out("FAIL at %d: reply %s" % (i, why))
                return False
        out("OK %d" % n)
        return True

    def router_serve(self, n, delimited):
        first = None
        for i in range(n):
            msg = [bytes(f) for f in self.recv()]
            rid, body = msg[0], msg[1:]
            if first is None:
                first = rid
                out("ID " + encode_frame(rid))
            elif rid != first:
                out("FAIL at %d: routing id %s, the first request had %s"
                    % (i, encode_frame(rid), encode_frame(first)))
                return False
            head = []
            if delimited:
                if not body or body[0] != b"":
                    out("FAIL at %d: no empty delimiter after the routing id" % i)
                    return False
                head, body = [b""], body[1:]
            why = check(i, body)
            if why is not None:
                out("FAIL at %d: request %s" % (i, why))
                return False
            self.send([rid] + head + reply(body))
        out("OK %d" % n)
        return True

    def router_call(self, n, to):
        deadline = time.monotonic() + self.args.timeout_ms / 1000.0
        for i in range(n):
            while True:
                try:
                    self.send([to] + canonical(i))
                    break
                except zmq.ZMQError as e:
                    if e.errno != zmq.EHOSTUNREACH or i > 0 or time.monotonic() > deadline:
                        raise
                    time.sleep(0.005)
            msg = [bytes(f) for f in self.recv()]
            if msg[0] != to:
                out("FAIL at %d: reply from routing id %s, expected %s"
                    % (i, encode_frame(msg[0]), encode_frame(to)))
                return False
            why = describe(msg[1:], reply(canonical(i)))
            if why is not None:
                out("FAIL at %d: reply %s" % (i, why))
                return False
        out("OK %d" % n)
        return True

    def subscriber(self, n):
        expected = [i for i in range(n) if TOPICS[i % 4].startswith(SUB_TOPIC)]
        k = 0
        probed = False
        while k < len(expected):
            msg = [bytes(f) for f in self.recv()]
            if msg == PROBE:
                if k > 0:
                    out("FAIL at %d: a probe after the sequence started" % expected[k])
                    return False
                if not probed:
                    probed = True
                    out("SUBSCRIBED")
                continue
            why = describe(msg, pubsub(expected[k]))
            if why is not None:
                out("FAIL at %d: %s (first frame starts %s)"
                    % (expected[k], why, encode_frame(msg[0][:16]) if msg else "-"))
                return False
            k += 1
        out("OK %d" % len(expected))
        return True

    def pubseq(self, n):
        for i in range(n):
            self.send(pubsub(i))
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

    def command(self, cmd, rest):
        """One script command: True to go on, False after a failure, "quit", or None (unknown)."""
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
            return self.verify_seq(int(rest[0]), int(rest[1]) if len(rest) > 1 else 0)
        elif cmd == "SLEEP":
            time.sleep(int(rest[0]) / 1000.0)
            out("SLEPT")
        elif cmd == "QUIT":
            return "quit"
        else:
            return None
        return True

    def script(self):
        for line in sys.stdin:
            parts = line.split()
            if not parts:
                continue
            r = self.command(parts[0].upper(), parts[1:])
            if r is None:
                out("ERROR unknown command %r" % parts[0].upper())
                return None
            if r is False:
                return False
            if r == "quit":
                break
        return True


def serve(args):
    """--serve: sockets opened, driven and closed one after another by stdin commands."""
    out("READY -")
    peer = None
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd, rest = parts[0].upper(), parts[1:]
        try:
            if cmd == "OPEN":
                if peer is not None:
                    peer.close(0)
                    peer = None
                sub = parse_args(rest, serving=True)
                if sub is None:
                    out("ERROR bad OPEN arguments: %s" % " ".join(rest))
                    continue
                peer = Peer(sub)
                peer.open()
            elif cmd == "CLOSE":
                if peer is not None:
                    peer.close(peer.args.linger or 0)
                    peer = None
                out("CLOSED")
            elif cmd == "QUIT":
                break
            elif peer is None:
                out("ERROR no socket open for %r" % cmd)
            elif cmd == "RUN":
                peer.run(" ".join(rest))
            elif peer.command(cmd, rest) is None:
                out("ERROR unknown command %r" % cmd)
        except Timeout:
            out("TIMEOUT")
        except UnknownScenario as e:
            out("ERROR unknown scenario %r" % str(e))
        except zmq.ZMQError as e:
            out("ERROR zmq: %s" % e)
        except (ValueError, IndexError) as e:
            out("ERROR %s" % e)
    if peer is not None:
        peer.close(0)
    return EXIT_OK


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def die(code, line=None):
    """Exits at once from any thread, without waiting for libzmq to flush."""
    if line:
        out(line)
    sys.stderr.flush()
    os._exit(code)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--type", help="PUSH, PULL, PAIR, REQ, REP, DEALER, ROUTER, PUB, SUB...")
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
    p.add_argument("--routing-id-hex", help="ZMQ_ROUTING_ID as hex (any bytes)")
    p.add_argument("--router-mandatory", action="store_true", help="ZMQ_ROUTER_MANDATORY")
    p.add_argument("--reconnect-ivl", type=int, help="ZMQ_RECONNECT_IVL, ms")
    p.add_argument("--subscribe", action="append", help="SUB topic (repeatable)")
    p.add_argument("--plain-server", action="store_true", help="ZMQ_PLAIN_SERVER")
    p.add_argument("--plain-user", help="PLAIN client: ZMQ_PLAIN_USERNAME")
    p.add_argument("--plain-password", help="PLAIN client: ZMQ_PLAIN_PASSWORD")
    p.add_argument("--curve-server", metavar="SECRET", help="CURVE server with this Z85 secret key")
    # Z85 keys may start with '-': pass them as --option=KEY.
    p.add_argument("--curve-public", help="CURVE client: its Z85 public key")
    p.add_argument("--curve-secret", help="CURVE client: its Z85 secret key")
    p.add_argument("--curve-serverkey", help="CURVE client: the server's Z85 public key")
    p.add_argument("--zap-domain", help="ZMQ_ZAP_DOMAIN")
    p.add_argument("--heartbeat-ivl", type=int, help="ZMQ_HEARTBEAT_IVL, ms")
    p.add_argument("--heartbeat-ttl", type=int, help="ZMQ_HEARTBEAT_TTL, ms")
    p.add_argument("--heartbeat-timeout", type=int, help="ZMQ_HEARTBEAT_TIMEOUT, ms")
    p.add_argument("--auth-plain", action="append", metavar="USER=PASSWORD",
                   help="zmq.auth authenticator: allow this PLAIN user (repeatable)")
    p.add_argument("--auth-curve-allow", action="append", metavar="PUBLIC",
                   help="zmq.auth authenticator: allow this Z85 CURVE client key (repeatable)")
    p.add_argument("--xsubscribe", action="append",
                   help="XSUB: send b'\\x01' + topic once bound/connected (repeatable)")
    p.add_argument("--show", action="store_true", help="echo: print received messages too")
    p.add_argument("--die-with-parent", action="store_true", help="exit when stdin reaches EOF")
    p.add_argument("--serve", action="store_true", help="serve mode (see above)")
    return p


def parse_args(argv, serving=False):
    """The options; in serve mode's OPEN, None instead of exiting on bad ones."""
    p = build_parser()
    if serving:
        try:
            args = p.parse_args(argv)
        except SystemExit:
            return None
        if not args.type or not (args.bind or args.connect):
            return None
        return args
    args = p.parse_args(argv)
    if args.verify_seq is not None:
        args.scenario = "verify %d" % args.verify_seq
    if args.serve:
        return args
    if not args.type:
        p.error("give --type (or --serve)")
    if not args.bind and not args.connect:
        p.error("give --bind and/or --connect")
    return args


def main(argv):
    args = parse_args(argv)
    name = args.scenario.split()[0] if args.scenario.split() else ""
    reads_stdin = args.serve or name in ("script", "send-stdin")

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

    if args.serve:
        return serve(args)

    peer = Peer(args)
    try:
        peer.open()
        ok = peer.run(args.scenario)
        if ok is None:
            die(EXIT_ERROR)
    except UnknownScenario:
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

"""Marker times in the splitter: when the marker's line arrived, also when the bytes of several
packets are fed at once (the SSH transport hands them over in batches, with arrival times)."""

from hardencheck.collect.stream_split import Splitter

NONCE = "HCtest"


def lines(*xs: str) -> bytes:
    return "".join(x + "\n" for x in xs).encode()


def test_markers_take_the_arrival_time_of_the_packet_their_line_ends_in():
    p1 = lines(f"{NONCE} B one", "alpha")
    p2 = lines("", f"{NONCE} E one 0", f"{NONCE} B two") + b"be"     # a line cut across packets
    p3 = lines("ta", "", f"{NONCE} E two 3", f"{NONCE} DONE")
    s = Splitter(NONCE, clock=lambda: 999.0)
    s.feed_stdout(p1 + p2 + p3, [(len(p1), 10.0), (len(p1) + len(p2), 11.5), (len(p1 + p2 + p3), 13.0)])
    secs = s.sections()
    assert (secs["one"].stdout, secs["one"].exit_code) == ("alpha\n", 0)
    assert (secs["two"].stdout, secs["two"].exit_code) == ("beta\n", 3)
    assert secs["one"].started_at == 10.0 and secs["one"].ended_at == 11.5
    assert secs["two"].started_at == 11.5 and secs["two"].ended_at == 13.0


def test_a_marker_line_completed_by_a_later_feed_takes_that_feeds_time():
    s = Splitter(NONCE, clock=lambda: 999.0)
    s.feed_stdout(f"{NONCE} B o".encode(), [(len(NONCE) + 4, 5.0)])      # no newline yet
    s.feed_stdout(b"ne\nx\n", [(3, 7.0), (5, 8.0)])     # the newline came with the first part
    s.feed_stdout(lines(f"{NONCE} E one 0"))                              # no times: the clock
    sec = s.sections()["one"]
    assert (sec.started_at, sec.ended_at, sec.stdout) == (7.0, 999.0, "x")


def test_the_same_bytes_fed_packet_by_packet_or_at_once_split_alike():
    body = lines(*[f"{NONCE} B s{i}" if i % 3 == 0 else (f"{NONCE} E s{i - 1} 0" if i % 3 == 2 else "data " * i)
                   for i in range(60)], f"{NONCE} DONE")
    cuts = list(range(0, len(body), 37)) + [len(body)]
    packets = [body[a:b] for a, b in zip(cuts, cuts[1:])]
    one = Splitter(NONCE, clock=lambda: 1.0)
    for p in packets:
        one.feed_stdout(p)
    many = Splitter(NONCE, clock=lambda: 2.0)
    many.feed_stdout(body, [(b, 1.0) for b in cuts[1:]])
    a, b = one.sections(), many.sections()
    assert list(a) == list(b) and len(a) == 20
    assert all(vars(a[k]) == vars(b[k]) for k in a)

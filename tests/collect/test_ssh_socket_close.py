"""The socket wrapper under every SSH connection (``ssh_connect._Peek``): closing waits for a send
in progress and nothing is sent after it. Behind a bastion the socket is a channel of the
bastion's connection, and a data packet after that channel's close makes the bastion's sshd drop
the whole connection with every other target on it (tests/integration/test_bastion.py failed
about one run in four on that race before). Here a socket whose send blocks shows the order."""

import threading
import time

import pytest

from hardencheck.collect.transports.ssh_connect import _Peek


class SlowSocket:
    def __init__(self):
        self.events = []
        self.release = threading.Event()

    def send(self, data):
        self.events.append(("send starts", data))
        self.release.wait(5)
        self.events.append(("send ends", data))
        return len(data)

    def sendall(self, data):
        self.send(data)

    def close(self):
        self.events.append(("close", None))


def test_close_waits_for_a_send_in_progress_and_nothing_is_sent_after_it():
    sock = SlowSocket()
    peek = _Peek(sock)
    sender = threading.Thread(target=peek.send, args=(b"last packet",))
    sender.start()
    while not sock.events:
        time.sleep(0.01)
    closer = threading.Thread(target=peek.close)
    closer.start()
    time.sleep(0.2)
    assert ("close", None) not in sock.events          # still sending: the close waits
    sock.release.set()
    sender.join(5)
    closer.join(5)
    assert [e for e, _ in sock.events] == ["send starts", "send ends", "close"]
    with pytest.raises(OSError):
        peek.send(b"too late")
    with pytest.raises(OSError):
        peek.sendall(b"too late")
    assert [e for e, _ in sock.events] == ["send starts", "send ends", "close"]


class CountingSocket:
    """A socket pair's one end that counts the reads it was asked for."""

    def __init__(self, sock):
        self.sock = sock
        self.asked = []

    def recv(self, n):
        self.asked.append(n)
        return self.sock.recv(n)


def test_reads_are_buffered_and_handed_out_as_asked():
    import socket

    a, b = socket.socketpair()
    try:
        sock = CountingSocket(b)
        peek = _Peek(sock)
        a.sendall(b"SSH-2.0-x\r\n" + bytes(range(256)) * 4)    # a banner and three packets' worth
        a.shutdown(socket.SHUT_WR)
        time.sleep(0.05)
        got = [peek.recv(16), peek.recv(500), peek.recv(600), peek.recv(16)]
        assert got[0] == b"SSH-2.0-x\r\n" + bytes(range(5))
        assert b"".join(got) == b"SSH-2.0-x\r\n" + bytes(range(256)) * 4
        assert [len(g) for g in got] == [16, 500, 519, 0]   # never more than asked; then the end
        # one read took everything that had arrived; the second found the peer's end
        assert len(sock.asked) == 2 and sock.asked[0] >= 8192
        assert peek.eof
        assert peek.first == (b"SSH-2.0-x\r\n" + bytes(range(256)) * 4)[:512]
    finally:
        a.close()
        b.close()

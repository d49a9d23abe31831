"""fake_lmtp: a small scriptable LMTP server (RFC 2033) on a UNIX socket,
for testing sluice-qmgr without sluice-lmtpd.

    srv = FakeLMTP(path)            # starts listening in a thread
    srv.rcpt_reply["bad@x"] = "550 5.1.1 <bad@x> User unknown"     # at RCPT
    srv.data_reply["late@x"] = "451 4.3.0 <late@x> Try again"      # after the data
    srv.die_in_data = True          # close the connection in the middle of DATA
    srv.delay = 0.05                # sleep before the replies after the data
    srv.messages                    # [(mail_from, [rcpts delivered], data bytes)]
    srv.stop()

Replies not scripted are 250. It offers PIPELINING, 8BITMIME, SMTPUTF8,
ENHANCEDSTATUSCODES, SIZE, CHUNKING, BINARYMIME and XFORWARD (recording the
IDENT qmgr passes, its queue id, in srv.idents), answers pipelined
commands in order, undoes dot-stuffing, and counts connections, LHLOs and
the most sessions open at once.
"""
import os
import socket
import threading
import time


class FakeLMTP:
    def __init__(self, path, pipelining=True):
        self.path = path
        self.pipelining = pipelining
        self.rcpt_reply = {}
        self.data_reply = {}
        self.default_data_reply = None
        self.die_in_data = False
        self.die_after_data = False
        self.delay = 0.0
        self.messages = []
        self.idents = []  # the XFORWARD IDENT of each message in messages (or None)
        self.connections = 0
        self.lhlos = 0
        self.open_now = 0
        self.open_max = 0
        self.transactions_per_connection = []
        self.lock = threading.Lock()
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)
        self.sock.listen(64)
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        try:
            self.sock.close()
        except OSError:
            pass
        if os.path.exists(self.path):
            os.unlink(self.path)

    def count(self):
        with self.lock:
            return len(self.messages)

    def wait_for(self, n, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= n:
                return True
            time.sleep(0.02)
        return False

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        with self.lock:
            self.connections += 1
            self.open_now += 1
            self.open_max = max(self.open_max, self.open_now)
        f = conn.makefile("rb")
        transactions = 0
        try:
            conn.sendall(b"220 fake LMTP ready\r\n")
            mail_from, rcpts, ident = None, [], None
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
                verb = cmd.split(" ", 1)[0].upper()
                if verb == "LHLO":
                    with self.lock:
                        self.lhlos += 1
                    caps = ["fake", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "SIZE 100000000",
                            "CHUNKING", "BINARYMIME", "XFORWARD NAME ADDR PROTO HELO IDENT"]
                    if self.pipelining:
                        caps.append("PIPELINING")
                    out = "".join("250-%s\r\n" % c for c in caps[:-1]) + "250 %s\r\n" % caps[-1]
                    conn.sendall(out.encode())
                elif verb == "XFORWARD":
                    for attr in cmd.split()[1:]:
                        if attr.upper().startswith("IDENT="):
                            ident = attr[6:]
                    conn.sendall(b"250 2.0.0 Ok\r\n")
                elif verb == "MAIL":
                    mail_from = cmd[cmd.index("<") + 1:cmd.index(">")]
                    rcpts = []
                    conn.sendall(b"250 2.1.0 Ok\r\n")
                elif verb == "RCPT":
                    addr = cmd[cmd.index("<") + 1:cmd.rindex(">")]
                    reply = self.rcpt_reply.get(addr)
                    if reply is None:
                        rcpts.append(addr)
                        reply = "250 2.1.5 Ok"
                    conn.sendall((reply + "\r\n").encode())
                elif verb in ("DATA", "BDAT"):
                    if not rcpts:
                        conn.sendall(b"554 5.5.1 No valid recipients\r\n")
                        continue
                    if verb == "DATA":
                        conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        data = bytearray()
                        got = 0
                        while True:
                            l = f.readline()
                            if not l:
                                return
                            got += len(l)
                            if self.die_in_data and got > 40:
                                return  # the server dies in the middle of the data
                            if l == b".\r\n":
                                break
                            if l.startswith(b"."):
                                l = l[1:]
                            data += l
                    else:
                        size = int(cmd.split()[1])
                        data = bytearray(f.read(size))
                    if self.die_after_data:
                        return
                    if self.delay:
                        time.sleep(self.delay)
                    delivered = []
                    out = b""
                    for r in rcpts:
                        reply = self.data_reply.get(r) or self.default_data_reply
                        if reply is None:
                            delivered.append(r)
                            reply = "250 2.0.0 <%s> Saved" % r
                        out += (reply + "\r\n").encode()
                    with self.lock:
                        if delivered:
                            self.messages.append((mail_from, delivered, bytes(data)))
                            self.idents.append(ident)
                    transactions += 1
                    conn.sendall(out)
                    mail_from, rcpts, ident = None, [], None
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    conn.sendall(b"250 2.0.0 Ok\r\n")
                elif verb == "QUIT":
                    conn.sendall(b"221 2.0.0 Bye\r\n")
                    return
                elif verb == "NOOP":
                    conn.sendall(b"250 2.0.0 Ok\r\n")
                else:
                    conn.sendall(b"502 5.5.2 Unknown command\r\n")
        except OSError:
            return
        finally:
            with self.lock:
                self.open_now -= 1
                self.transactions_per_connection.append(transactions)
            try:
                conn.close()
            except OSError:
                pass

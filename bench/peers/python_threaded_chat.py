#!/usr/bin/env python3
"""A minimal threaded TCP chat server: the comparison baseline for sockhub's benchmarks.

This is how the original Python course projects built a chat server, kept faithful rather than
optimized: socketserver.ThreadingMixIn gives one thread per client, every connected socket sits
in one global list guarded by one lock, and each received line is written with sendall() to every
client in turn, the sender included, while the lock is held. There is no login, no limits and no
protocol beyond newline-delimited lines.

Usage: python3 python_threaded_chat.py PORT [HOST]
"""

import socketserver
import sys
import threading

clients = []
clients_lock = threading.Lock()


def broadcast(line):
    with clients_lock:
        for sock in list(clients):
            try:
                sock.sendall(line)
            except OSError:
                # A client that went away is dropped; its own handler thread cleans up too.
                if sock in clients:
                    clients.remove(sock)


class ChatHandler(socketserver.StreamRequestHandler):
    def handle(self):
        with clients_lock:
            clients.append(self.request)
        try:
            for line in self.rfile:
                if not line.endswith(b"\n"):
                    line += b"\n"
                broadcast(line)
        except OSError:
            pass
        finally:
            with clients_lock:
                if self.request in clients:
                    clients.remove(self.request)


class ChatServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
    # The textbook default backlog (5) refuses connections when many clients arrive at once,
    # which would measure the kernel, not the server.
    request_queue_size = 1024


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    with ChatServer((host, port), ChatHandler) as server:
        print(f"python threaded chat listening on {host}:{server.server_address[1]}", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

"""A Docker Engine API stand-in on a unix socket: GET /containers/<id>/json for the containers
it is told about (the fields ecsguard reads, in Docker's own shape), 404 for the others."""

import json
import os
import socketserver
import tempfile
import threading
from http.server import BaseHTTPRequestHandler


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class FakeDocker:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fakedocker-")
        self.socket = os.path.join(self.dir, "docker.sock")
        self.containers = {}
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def address_string(self):
                return "unix"

            def do_GET(self):
                fake.requests.append(self.path)
                parts = self.path.split("/")
                c = None
                if len(parts) == 4 and parts[1] == "containers" and parts[3] == "json":
                    c = fake.containers.get(parts[2])
                body = json.dumps(c if c else {"message": "No such container: " + self.path})
                self.send_response(200 if c else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.server = _Server(self.socket, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, container_id, name, image, labels=None):
        self.containers[container_id] = {
            "Id": container_id, "Name": "/" + name, "Image": "sha256:" + "ab" * 32,
            "Config": {"Image": image, "Labels": labels or {}},
            "State": {"Status": "running", "Running": True},
        }

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        try:
            os.unlink(self.socket)
            os.rmdir(self.dir)
        except OSError:
            pass
